import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import type {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AgentosError} from '../../errors.js'
import {distFile} from '../../util/dist-file.js'
import {deadOwnerTagged, ownerTag, sweepDeadOwned} from '../../util/owner.js'
import {onJsonLines} from './json-lines.js'
import type {DriverEvent, DriverRequest} from './protocol.js'

/** The driver's source, inlined by scripts/build-binary.mjs: a SEA has no dist/ to run it from. */
declare const AGENTOS_RUNTIME_DRIVER_SOURCE: string | undefined

/** How to start the driver: with which Node.js, and what to do with its output. */
export interface DriverOptions {
  /** The Node.js executable (the CLI's own, or for the single binary one on PATH / `--node`). */
  node: string
  /** Pass the runtime's own log lines (the driver's stdout and stderr) to our stderr. */
  verbose?: boolean
  /** Forward this process's stdin to the guest (exec only). */
  stdin?: boolean
  /** Every event as it arrives (guest output, session updates, phases). */
  onEvent?: (event: DriverEvent) => void
}

/** What one driver run came to. */
export interface DriverOutcome {
  result?: Record<string, unknown>
  fail?: Extract<DriverEvent, {type: 'fail'}>
  /** Milliseconds per phase (`start`: the driver's own start, `import`, `create`, `dispose`). */
  phases: Record<string, number>
  /** The end of the runtime's log (kept for errors even without --verbose). */
  logTail: string
  /** The signal that stopped the run (Ctrl-C, a kill of the CLI), if any. */
  signal?: NodeJS.Signals
}

/** Signals that stop the guest through the driver instead of killing the CLI at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** How many bytes of the runtime's log are kept without --verbose. */
const LOG_TAIL = 8192

/**
 * The command line that starts the driver: `node <dist>/run/agentos/driver.js`, or inside the
 * single binary `node --input-type=module -e <source>` (its source is well under the 128 KiB a
 * single argument may have).
 */
export function driverArgv(): string[] {
  if (typeof AGENTOS_RUNTIME_DRIVER_SOURCE === 'string')
    return ['--input-type=module', '-e', AGENTOS_RUNTIME_DRIVER_SOURCE]
  return [distFile('run/agentos/driver.js')]
}

/**
 * Runs one request in a driver process and collects its events. The runtime's output never reaches
 * our stdout: guest output arrives as events (and is written by `onEvent`), the runtime's log goes
 * to our stderr with `verbose`, else only its tail is kept. A signal to the CLI stops the guest and
 * disposes the VM through the driver; if the driver dies, the outcome says how.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_DRIVER_FAILED` (the driver could not start, or ended
 *   without a result).
 */
export async function runDriver(request: DriverRequest, options: DriverOptions): Promise<DriverOutcome> {
  const started = performance.now()
  const scratch = driverTemp()
  const child = spawn(options.node, driverArgv(), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // The runtime must not inherit our NODE_OPTIONS (a loader or inspector meant for the CLI).
    // Its temp files (sockets, an import cache it never removes) go in a dir of ours.
    env: {...process.env, NODE_OPTIONS: '', TMPDIR: scratch},
  })
  const outcome: DriverOutcome = {phases: {}, logTail: ''}
  const log = (chunk: Buffer) => {
    if (options.verbose) process.stderr.write(chunk)
    outcome.logTail = (outcome.logTail + chunk.toString('utf8')).slice(-LOG_TAIL)
  }
  child.stdout!.on('data', log)
  child.stderr!.on('data', log)
  const channel = child.stdio[3] as Socket
  const send = (message: object) => {
    if (!channel.destroyed) channel.write(`${JSON.stringify(message)}\n`)
  }
  const stop = (signal: NodeJS.Signals) => {
    outcome.signal ??= signal
    send({type: 'stop', signal})
  }
  for (const signal of STOP_SIGNALS) process.on(signal, stop)
  let stdinDone = () => {}
  try {
    await spawned(child, options.node)
    send(request)
    if (options.stdin) stdinDone = forwardStdin(send)
    const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) =>
      child.once('close', (code, signal) => resolve({code, signal})),
    )
    onJsonLines(channel, (value) => collect(value as DriverEvent, outcome, started, options.onEvent))
    channel.on('error', () => {})
    const end = await exited
    if (!outcome.result && !outcome.fail) {
      throw new AgentosError(
        'ERR_AGENTOS_RUNTIME_DRIVER_FAILED',
        `the agentOS runtime's driver ended (${end.signal ?? `exit ${end.code}`}) without a result`,
        {
          hint: 'Run again with --verbose to see the runtime log.',
          details: {logTail: outcome.logTail},
          exitCode: 125,
        },
      )
    }
    return outcome
  } finally {
    stdinDone()
    for (const signal of STOP_SIGNALS) process.off(signal, stop)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(scratch, {recursive: true, force: true, maxRetries: 2})
  }
}

/** Prefix of the driver's temp dir; its owner (this CLI) follows, see ownerTag. */
const DRIVER_TEMP_PREFIX = 'agentos-runtime-'

/**
 * A fresh temp dir for the driver and the runtime, after removing those of CLIs that died
 * (SIGKILL: the driver then disposes the VM and ends, but the runtime's leftovers stay).
 */
function driverTemp(): string {
  const tmp = tmpdir()
  sweepDeadOwned(tmp, (name) => deadOwnerTagged(name, DRIVER_TEMP_PREFIX))
  try {
    return mkdtempSync(join(tmp, `${DRIVER_TEMP_PREFIX}${ownerTag()}-`))
  } catch (error) {
    throw new AgentosError(
      'ERR_AGENTOS_RUNTIME_DRIVER_FAILED',
      `cannot make a temp dir in ${tmp}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {hint: 'Check TMPDIR: it must name a writable directory.', exitCode: 125},
    )
  }
}

/** Waits for the driver's process to start. */
async function spawned(child: ChildProcess, node: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
  } catch (error) {
    throw new AgentosError(
      'ERR_AGENTOS_RUNTIME_DRIVER_FAILED',
      `cannot start ${node} for the agentOS runtime: ${(error as Error).message}`,
      {hint: 'Pass --node <path> to a Node.js >= 20.', cause: error, exitCode: 125},
    )
  }
}

/** Takes one event from the driver into the outcome, then passes it on. */
function collect(
  event: DriverEvent,
  outcome: DriverOutcome,
  started: number,
  onEvent: DriverOptions['onEvent'],
): void {
  if (event.type === 'phase') {
    outcome.phases[event.phase] = event.ms
    if (event.phase === 'import') outcome.phases.start = Math.round((performance.now() - started) * 10) / 10
  } else if (event.type === 'result') outcome.result = event.result
  else if (event.type === 'fail') outcome.fail = event
  onEvent?.(event)
}

/** Streams our stdin to the guest; returns the function that stops reading it. */
function forwardStdin(send: (message: object) => void): () => void {
  const stdin = process.stdin
  const data = (chunk: Buffer) => send({type: 'stdin', data: chunk.toString('base64')})
  const end = () => send({type: 'stdin-end'})
  stdin.on('data', data)
  stdin.once('end', end)
  stdin.on('error', end)
  return () => {
    stdin.off('data', data)
    stdin.off('end', end)
    // Without this a pipe that stays open would keep the CLI alive after the guest ended.
    stdin.destroy()
  }
}
