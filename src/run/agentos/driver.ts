/**
 * The driver of `run --engine agentos`: a separate Node.js process that imports the real agentOS
 * runtime and does one thing in one VM, so the runtime (its native sidecar, its log lines, its
 * globals) never lives in the CLI's process. Self-contained — node: builtins only — because the
 * single binary carries it as source text (scripts/build-binary.mjs) and runs it with
 * `node --input-type=module -e`.
 *
 * Protocol, JSON lines on fd 3 (a socket the parent opened). Parent → driver: first a
 * {@link DriverRequest}, then `{type: 'stdin', data}` (base64), `{type: 'stdin-end'}` and
 * `{type: 'stop', signal}`. Driver → parent: {@link DriverEvent}s, ending with one `result` or
 * `fail`. Everything the runtime and its sidecar print goes to this process's stdout and stderr,
 * which the parent shows only with `--verbose`.
 */
import {randomUUID} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

/** What the parent asks for. */
export interface DriverRequest {
  op: 'exec' | 'which' | 'describe' | 'agent'
  /** The runtime's ES module entry (a file path). */
  entry: string
  /** Package directories and `.aospkg` files, as `software` entries. */
  packages: string[]
  env?: Record<string, string>
  cwd?: string
  command?: string
  args?: string[]
  timeoutMs?: number
  /** Forward stdin chunks sent by the parent (else the guest's stdin is closed at once). */
  stdin?: boolean
  agent?: string
  prompt?: string
  timeouts?: {session?: number; prompt?: number}
}

/** What the driver reports. */
export type DriverEvent =
  | {type: 'phase'; phase: string; ms: number}
  | {type: 'stdout' | 'stderr'; data: string}
  | {type: 'update'; update: Record<string, unknown>}
  | {type: 'result'; result: Record<string, unknown>}
  | {type: 'fail'; stage: string; message: string; name?: string; code?: string}

interface Vm {
  process: {
    spawn(command: string, args: string[], options: Record<string, unknown>): Promise<{pid: number}>
    wait(pid: number): Promise<{outcome: string; exitCode?: number; signal?: string}>
    kill(pid: number): Promise<void>
    writeStdin(pid: number, data: Uint8Array): Promise<void>
    closeStdin(pid: number): Promise<void>
  }
  filesystem: {readFile(path: string): Promise<Uint8Array>}
  software: {list(): Promise<Array<{packageName: string; commands: string[]}>>}
  agents: {list(): Promise<Array<{id: string; installed: boolean}>>}
  sessions: {
    open(input: Record<string, unknown>): Promise<void>
    get(input: {sessionId: string}): Promise<Record<string, unknown>>
    getAgentInfo(input: {sessionId: string}): Promise<unknown>
    getCapabilities(input: {sessionId: string}): Promise<unknown>
    prompt(
      input: Record<string, unknown>,
    ): Promise<{message: {content: unknown[]} | null; stopReason: string}>
    unload(input: {sessionId: string}): Promise<void>
  }
  onSessionEvent(sessionId: string, handler: (entry: Record<string, unknown>) => void): () => void
  dispose(): Promise<void>
}

const channel = new Socket({fd: 3, readable: true, writable: true})
const send = (event: DriverEvent) => channel.write(`${JSON.stringify(event)}\n`)
const clock = () => performance.now()
const round = (ms: number) => Math.round(ms * 10) / 10

let request: DriverRequest | undefined
const inbox: Array<Record<string, unknown>> = []
let onMessage: ((message: Record<string, unknown>) => void) | undefined
let buffered = ''
let firstLine: (value: DriverRequest) => void
const requested = new Promise<DriverRequest>((resolve) => (firstLine = resolve))
channel.setEncoding('utf8')
channel.on('data', (chunk: string) => {
  buffered += chunk
  let newline: number
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline)
    buffered = buffered.slice(newline + 1)
    if (!line.trim()) continue
    const message = JSON.parse(line) as Record<string, unknown>
    if (!request) {
      request = message as unknown as DriverRequest
      firstLine(request)
    } else if (onMessage) onMessage(message)
    else inbox.push(message)
  }
})
// The parent went away (killed, or its pipe closed): nothing is left to report to.
let orphaned = false
channel.on('close', () => {
  orphaned = true
  stopRequested?.('SIGTERM')
})
channel.on('error', () => {})
let stopRequested: ((signal: string) => void) | undefined

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
    if (req.op === 'exec') await exec(vm, req)
    else if (req.op === 'which') await which(vm, req)
    else if (req.op === 'describe') await describe(vm, req)
    else await agent(vm, req, agentStderr, agentExits)
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

async function exec(vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  let stdout = 0
  let stderrText = ''
  let proc: {pid: number}
  try {
    proc = await vm.process.spawn(req.command!, req.args ?? [], {
      ...(req.cwd ? {cwd: req.cwd} : {}),
      ...(req.env && Object.keys(req.env).length > 0 ? {env: req.env} : {}),
      onStdout: (chunk: Uint8Array) => {
        stdout += chunk.byteLength
        send({type: 'stdout', data: Buffer.from(chunk).toString('base64')})
      },
      onStderr: (chunk: Uint8Array) => {
        const text = Buffer.from(chunk).toString('utf8')
        // A spawn the sidecar refused (the command never ran) comes as this line on the process's
        // stderr: it is the runtime's message, reported in the result instead of as guest output.
        const refusal = stdout === 0 && stderrText === '' && /^sidecar rejected request \d+: /.test(text)
        // The first bytes are kept to tell such a refusal from the guest's own output.
        if (stderrText.length < 4096) stderrText += text
        if (!refusal) send({type: 'stderr', data: Buffer.from(chunk).toString('base64')})
      },
    })
  } catch (error) {
    fail('spawn', error)
    return
  }
  const spawnMs = clock() - t
  let timedOut = false
  let stopped: string | undefined
  const kill = () => vm.process.kill(proc.pid).catch(() => {})
  stopRequested = (signal) => {
    stopped ??= signal
    void kill()
  }
  const timer =
    req.timeoutMs && req.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true
          void kill()
        }, req.timeoutMs)
      : undefined
  // stdin: forwarded chunk by chunk in order; without it the guest sees end of file at once.
  let stdinChain: Promise<unknown> = Promise.resolve()
  const handle = (message: Record<string, unknown>) => {
    if (message.type === 'stdin')
      stdinChain = stdinChain.then(() =>
        vm.process.writeStdin(proc.pid, Buffer.from(String(message.data), 'base64')).catch(() => {}),
      )
    else if (message.type === 'stdin-end')
      stdinChain = stdinChain.then(() => vm.process.closeStdin(proc.pid).catch(() => {}))
    else if (message.type === 'stop') stopRequested?.(String(message.signal ?? 'SIGTERM'))
  }
  onMessage = handle
  for (const message of inbox.splice(0)) handle(message)
  if (!req.stdin) stdinChain = vm.process.closeStdin(proc.pid).catch(() => {})
  const exit = await vm.process.wait(proc.pid)
  if (timer) clearTimeout(timer)
  const rejected = /^sidecar rejected request \d+: ([a-z_]+): (.*)/.exec(stderrText.trim())
  send({
    type: 'result',
    result: {
      exit,
      timedOut: timedOut || exit.outcome === 'timed_out',
      stopped,
      stdoutBytes: stdout,
      // The sidecar refused the spawn itself (the command never ran): its reason, when it says one.
      rejected: rejected && stdout === 0 ? {kind: rejected[1], message: rejected[2]} : undefined,
      timings: {spawn: round(spawnMs), run: round(clock() - t)},
    },
  })
}

/** Runs a shell line in the VM and returns its output (for `--which` and the description). */
async function shell(vm: Vm, script: string, args: string[], req: DriverRequest) {
  let out = ''
  let err = ''
  const proc = await vm.process.spawn('sh', ['-c', script, 'sh', ...args], {
    ...(req.cwd ? {cwd: req.cwd} : {}),
    ...(req.env && Object.keys(req.env).length > 0 ? {env: req.env} : {}),
    onStdout: (chunk: Uint8Array) => (out += Buffer.from(chunk).toString('utf8')),
    onStderr: (chunk: Uint8Array) => (err += Buffer.from(chunk).toString('utf8')),
  })
  await vm.process.closeStdin(proc.pid).catch(() => {})
  const exit = await vm.process.wait(proc.pid)
  return {out, err, exitCode: exit.exitCode ?? 1}
}

async function which(vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  try {
    // PATH as the guest has it, then what `command -v` answers, then the link chain (ls -l
    // prints it, as readlink may not be installed).
    const probe = await shell(
      vm,
      'printf "PATH=%s\\n" "$PATH"; p=$(command -v -- "$1") || exit 127; printf "FOUND=%s\\n" "$p"; case "$p" in /*) ls -ld -- "$p";; esac',
      [req.command!],
      req,
    )
    let head: string | undefined
    const found = /^FOUND=(.*)$/m.exec(probe.out)?.[1]
    if (found?.startsWith('/')) {
      const bytes = await vm.filesystem.readFile(found).catch(() => undefined)
      if (bytes) head = Buffer.from(bytes.subarray(0, 256)).toString('base64')
    }
    send({
      type: 'result',
      result: {...probe, head, software: await vm.software.list(), timings: {run: round(clock() - t)}},
    })
  } catch (error) {
    fail('which', error)
  }
}

async function describe(vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  try {
    const [software, agents, probe] = await Promise.all([
      vm.software.list(),
      vm.agents.list(),
      shell(vm, 'pwd; env', [], req),
    ])
    send({type: 'result', result: {software, agents, probe, timings: {run: round(clock() - t)}}})
  } catch (error) {
    fail('describe', error)
  }
}

async function agent(
  vm: Vm,
  req: DriverRequest,
  agentStderr: string[],
  agentExits: unknown[],
): Promise<void> {
  const steps: Array<{step: string; ms: number; ok: boolean; detail?: string}> = []
  const result: Record<string, unknown> = {steps}
  const step = async <T>(name: string, timeoutMs: number | undefined, work: () => Promise<T>): Promise<T> => {
    const t = clock()
    let timer: NodeJS.Timeout | undefined
    try {
      const value = await Promise.race([
        work(),
        ...(timeoutMs
          ? [
              new Promise<never>((_, reject) => {
                timer = setTimeout(
                  () =>
                    reject(
                      Object.assign(new Error(`${name} got no answer within ${timeoutMs} ms`), {
                        timeout: true,
                      }),
                    ),
                  timeoutMs,
                )
              }),
            ]
          : []),
      ])
      steps.push({step: name, ms: round(clock() - t), ok: true})
      return value
    } catch (error) {
      steps.push({step: name, ms: round(clock() - t), ok: false, detail: (error as Error).message})
      throw error
    } finally {
      if (timer) clearTimeout(timer)
    }
  }
  try {
    const agents = await step('agents/list', undefined, () => vm.agents.list())
    result.agents = agents
    const names = agents.map((a) => a.id)
    const picked = req.agent ?? (names.length === 1 ? names[0] : undefined)
    if (!picked || !names.includes(picked)) {
      send({type: 'result', result: {...result, pick: {wanted: req.agent, names}}})
      return
    }
    result.agent = picked
    const sessionId = randomUUID()
    await step('session/open', req.timeouts?.session, () =>
      vm.sessions.open({
        agent: picked,
        sessionId,
        ...(req.cwd ? {cwd: req.cwd} : {}),
        ...(req.env ? {env: req.env} : {}),
      }),
    )
    result.sessionId = sessionId
    result.agentInfo = await step('agent-info', undefined, () => vm.sessions.getAgentInfo({sessionId}))
    result.agentCapabilities = await step('capabilities', undefined, () =>
      vm.sessions.getCapabilities({sessionId}),
    )
    result.session = await vm.sessions.get({sessionId}).catch(() => undefined)
    if (req.prompt !== undefined) {
      let ephemeral = false
      const off = vm.onSessionEvent(sessionId, (entry) => {
        const {
          durability,
          sessionId: _s,
          sequence: _q,
          timestamp: _ts,
          afterSequence: _a,
          type,
          ...rest
        } = entry
        if (type === 'user_message_chunk') return
        const chunk = type === 'agent_message_chunk' || type === 'agent_thought_chunk'
        // Message chunks come twice, live (ephemeral) and then recorded (durable): one is shown.
        if (chunk && durability === 'ephemeral') ephemeral = true
        else if (chunk && ephemeral) return
        send({type: 'update', update: {sessionUpdate: type, ...rest}})
      })
      try {
        const answer = await step('session/prompt', req.timeouts?.prompt, () =>
          vm.sessions.prompt({sessionId, content: [{type: 'text', text: req.prompt}]}),
        )
        result.prompt = {
          text: req.prompt,
          stopReason: answer.stopReason,
          reply: (answer.message?.content ?? [])
            .map((block) =>
              (block as {type?: string}).type === 'text' ? (block as {text: string}).text : '',
            )
            .join(''),
        }
      } finally {
        off()
      }
    }
    await step('close', undefined, () => vm.sessions.unload({sessionId})).catch(() => {})
    send({
      type: 'result',
      result: {...result, stderrTail: agentStderr.join('').slice(-4096), exits: agentExits},
    })
  } catch (error) {
    const e = error as {message?: string; timeout?: boolean}
    send({
      type: 'result',
      result: {
        ...result,
        error: {message: e?.message ?? String(error), timeout: e?.timeout === true},
        stderrTail: agentStderr.join('').slice(-4096),
        exits: agentExits,
      },
    })
  }
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
