/**
 * The seam between `run` and what runs the packages. Two engines implement it: the emulation
 * (src/run/emulation/engine.ts, this project's own model of the VM: fast, nothing to install,
 * known divergences) and the real agentOS runtime (src/run/agentos/engine.ts, driven in a child
 * Node.js process). `run`'s flags map onto these four operations; what an engine cannot do it
 * refuses with a coded error before anything starts.
 */

/** The engines `run --engine` offers. */
export type EngineName = 'emulation' | 'agentos'

/** The engines, in the order `--help` lists them (the first is the default). */
export const ENGINE_NAMES: readonly EngineName[] = ['emulation', 'agentos']

/** What every operation takes: the packages and the guest's environment. */
export interface EngineOptions {
  /** Package directories, `.aospkg` archives and software modules, in mount order. */
  inputs: string[]
  /** `--env NAME=value` pairs. */
  env?: string[]
  /** Guest working directory. */
  cwd?: string
  /** Where relative inputs are resolved (default process.cwd()). */
  baseDir?: string
  /** Diagnostic lines for stderr. */
  note?: (message: string) => void
}

/** One command to run (`run <packages> -- <command> [args…]`). */
export interface EngineExecOptions extends EngineOptions {
  command: string
  args: string[]
  /** Keep stdout and stderr in the result instead of streaming them (`--json`). */
  capture?: boolean
  timeoutMs?: number
  killAfterMs?: number
}

/** An agent session (`run --agent`). */
export interface EngineAgentOptions extends EngineOptions {
  /** The agent's name; undefined picks the only agent among the packages. */
  agentName?: string
  /** Arguments after `--`, passed to the agent's entrypoint. */
  args: string[]
  prompt?: string
  timeouts?: {initialize?: number; session?: number; prompt?: number; killAfter?: number}
  /** Called with each `session/update` while a prompt runs. */
  onUpdate?: (update: {sessionUpdate: string; [key: string]: unknown}) => void
}

/** A result and the CLI's exit code for it. */
export interface EngineOutcome<T> {
  result: T
  exitCode: number
}

/** What every engine's command run reports (each adds its own fields). */
export interface EngineCommandRun {
  exitCode: number
  /** Captured output (only with `capture`). */
  stdout?: string
  stderr?: string
  timedOut: boolean
  /** The guest's argv as the VM sees it. */
  argv: string[]
  /** Milliseconds per phase; `total` always. */
  timings: {total: number}
}

/** The result types of one engine's operations. */
export interface EngineResults {
  describe: unknown
  which: unknown
  exec: EngineCommandRun
  agent: unknown
}

/**
 * An engine: describe the VM the packages make, say how a command resolves in it, run a command,
 * or open an agent session. Every failure to set up is a coded `AgentosError`; a guest's own
 * failure is a result.
 */
export interface Engine<R extends EngineResults = EngineResults> {
  readonly name: EngineName
  describe(options: EngineOptions): Promise<EngineOutcome<R['describe']>>
  which(options: EngineOptions & {command: string}): Promise<EngineOutcome<R['which']>>
  exec(options: EngineExecOptions): Promise<R['exec']>
  agentSession(options: EngineAgentOptions): Promise<EngineOutcome<R['agent']>>
}
