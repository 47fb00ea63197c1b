/**
 * The driver of `run --engine agentos`: a separate Node.js process that imports the real agentOS
 * runtime and does one thing in one VM, so the runtime (its native sidecar, its log lines, its
 * globals) never lives in the CLI's process. node: builtins only, and this folder's driver modules
 * (driver-*.ts, protocol.ts, json-lines.ts), because the single binary carries it as source text:
 * scripts/build-binary.mjs bundles it into one module and runs it with `node --input-type=module -e`.
 *
 * Protocol, JSON lines on fd 3 (a socket the parent opened). Parent → driver: first a
 * {@link DriverRequest}, then `{type: 'stdin', data}` (base64), `{type: 'stdin-end'}` and
 * `{type: 'stop', signal}`. Driver → parent: {@link DriverEvent}s, ending with one `result` or
 * `fail`. Everything the runtime and its sidecar print goes to this process's stdout and stderr,
 * which the parent shows only with `--verbose`.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {agent} from './driver-agent.js'
import {check} from './driver-check.js'
import {describe, exec, which} from './driver-commands.js'
import {clock, round, type DriverContext, type Vm} from './driver-context.js'
import {onJsonLines} from './json-lines.js'
import type {DriverEvent, DriverRequest} from './protocol.js'

const channel = new Socket({fd: 3, readable: true, writable: true})
const send = (event: DriverEvent) => channel.write(`${JSON.stringify(event)}\n`)

let request: DriverRequest | undefined
const inbox: Array<Record<string, unknown>> = []
let onMessage: ((message: Record<string, unknown>) => void) | undefined
let firstLine: (value: DriverRequest) => void
const requested = new Promise<DriverRequest>((resolve) => (firstLine = resolve))
onJsonLines(channel, (value) => {
  const message = value as Record<string, unknown>
  if (!request) {
    request = message as unknown as DriverRequest
    firstLine(request)
  } else if (onMessage) onMessage(message)
  else inbox.push(message)
})
// The parent went away (killed, or its pipe closed): nothing is left to report to.
let orphaned = false
channel.on('close', () => {
  orphaned = true
  stopRequested?.('SIGTERM')
})
channel.on('error', () => {})
let stopRequested: ((signal: string) => void) | undefined

const context: DriverContext = {
  send,
  fail,
  listen(handle) {
    onMessage = handle
    for (const message of inbox.splice(0)) handle(message)
  },
  onStop(stop) {
    stopRequested = stop
  },
}

async function main(): Promise<void> {
  const req = await requested
  let t = clock()
  let runtime: {AgentOs: {create(options: unknown): Promise<Vm>}}
  try {
    runtime = (await import(pathToFileURL(req.entry).href)) as typeof runtime
  } catch (error) {
    fail('load', error)
    return
  }
  send({type: 'phase', phase: 'import', ms: round(clock() - t)})
  const scratch = mkdtempSync(join(tmpdir(), 'agentos-toolchain-vm-'))
  let vm: Vm | undefined
  try {
    t = clock()
    const agentStderr: string[] = []
    const agentExits: unknown[] = []
    try {
      vm = await runtime.AgentOs.create({
        software: req.packages.map((packagePath) => ({packagePath})),
        // Sessions need durable storage; a per-run file keeps runs apart and leaves nothing behind.
        database: {type: 'sqlite_file', path: join(scratch, 'vm.sqlite')},
        // Kept for the report instead of the runtime's default (writing to this process's stderr).
        onAgentStderr: (event: {chunk: Uint8Array}) => {
          agentStderr.push(Buffer.from(event.chunk).toString('utf8'))
        },
        onAgentExit: (event: unknown) => agentExits.push(event),
      })
    } catch (error) {
      fail('create', error)
      return
    }
    send({type: 'phase', phase: 'create', ms: round(clock() - t)})
    if (orphaned) return
    if (req.op === 'exec') await exec(context, vm, req)
    else if (req.op === 'which') await which(context, vm, req)
    else if (req.op === 'describe') await describe(context, vm, req)
    else if (req.op === 'check') await check(context, vm, req, agentStderr)
    else await agent(context, vm, req, agentStderr, agentExits)
  } finally {
    t = clock()
    await vm?.dispose().catch(() => {})
    rmSync(scratch, {recursive: true, force: true})
    if (!orphaned) send({type: 'phase', phase: 'dispose', ms: round(clock() - t)})
  }
}

function fail(stage: string, error: unknown): void {
  const e = error as {message?: string; name?: string; code?: unknown}
  send({
    type: 'fail',
    stage,
    message: e?.message ?? String(error),
    name: e?.name,
    code: typeof e?.code === 'string' ? e.code : undefined,
  })
}

// Ended explicitly once the parent has every event: the runtime may keep handles (its sidecar's
// pipes, pools) that would hold the process open after dispose.
main().then(
  () => channel.end(() => process.exit(0)),
  (error: unknown) => {
    fail('driver', error)
    channel.end(() => process.exit(1))
  },
)
