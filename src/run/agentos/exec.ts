import type {EngineExecOptions} from '../engine.js'
import {RUN_EXIT, runError} from '../errors.js'
import type {DriverEvent} from './protocol.js'
import {drive, prepare, round, runtimeDocument, type AgentosSettings} from './operation.js'
import type {RuntimeCommandRun} from './results.js'

/** The driver's result of an `exec`. */
interface ExecResult {
  exit: {outcome: string; exitCode?: number; signal?: string}
  timedOut: boolean
  rejected?: {kind: string; message: string}
  timings: {run: number}
}

/**
 * `run --engine agentos <packages> -- <command>`: runs the command in the real VM, its output
 * streamed (or captured), stdin forwarded when it is not a terminal.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_COMMAND_NOT_FOUND` or `ERR_AGENTOS_RUN_CANNOT_EXECUTE`
 *   when the runtime refused to start the command, besides the errors of every operation.
 */
export async function execCommand(
  settings: AgentosSettings,
  options: EngineExecOptions,
): Promise<RuntimeCommandRun> {
  const {runtime, packages, env, resolveMs, started} = await prepare(settings, options)
  const output = {stdout: '', stderr: ''}
  const outcome = await drive(
    settings,
    {
      op: 'exec',
      packages,
      env,
      cwd: options.cwd,
      command: options.command,
      args: options.args,
      timeoutMs: options.timeoutMs,
      stdin: !process.stdin.isTTY,
    },
    runtime,
    {stdin: !process.stdin.isTTY, onEvent: (event) => guestOutput(event, options, output)},
  )
  const result = outcome.result as unknown as ExecResult
  if (result.rejected) throw refusal(options.command, result.rejected)
  if (result.timedOut)
    options.note?.(`run: ${options.command} ran past --timeout ${options.timeoutMs} ms and was stopped`)
  const exitCode = result.timedOut
    ? RUN_EXIT.timeout
    : outcome.signal
      ? 128 + signalNumber(outcome.signal)
      : (result.exit.exitCode ?? (result.exit.signal ? 128 + signalNumber(result.exit.signal) : 1))
  return {
    ...runtimeDocument(runtime),
    exitCode,
    ...(options.capture ? output : {}),
    timedOut: result.timedOut,
    argv: [options.command, ...options.args],
    packages,
    timings: {
      resolve: resolveMs,
      start: outcome.phases.start ?? 0,
      import: outcome.phases.import ?? 0,
      create: outcome.phases.create ?? 0,
      run: result.timings.run,
      dispose: outcome.phases.dispose ?? 0,
      total: round(performance.now() - started),
    },
  }
}

/** Writes the guest's output as it comes, or keeps it in `output` with `capture`. */
function guestOutput(
  event: DriverEvent,
  options: EngineExecOptions,
  output: {stdout: string; stderr: string},
): void {
  if (event.type !== 'stdout' && event.type !== 'stderr') return
  const bytes = Buffer.from(event.data, 'base64')
  if (options.capture) {
    if (event.type === 'stdout') output.stdout += bytes.toString('utf8')
    else output.stderr += bytes.toString('utf8')
  } else (event.type === 'stdout' ? process.stdout : process.stderr).write(bytes)
}

/** The coded error for a command the runtime refused to start. */
function refusal(command: string, rejected: {kind: string; message: string}) {
  const notFound = /command not found/.test(rejected.message)
  return runError(
    notFound ? 'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND' : 'ERR_AGENTOS_RUN_CANNOT_EXECUTE',
    `the agentOS runtime refused to start ${command}: ${rejected.kind}: ${rejected.message}`,
    {
      hint: notFound
        ? `See what the VM has: run --engine agentos <packages…> --which ${command}`
        : 'Run again with --verbose to see the runtime log.',
      exitCode: notFound ? RUN_EXIT.notFound : RUN_EXIT.cannotExecute,
    },
  )
}

const SIGNALS: Record<string, number> = {SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15}
const signalNumber = (signal: string) => SIGNALS[signal] ?? 1
