import type {HeaderKind} from '../../format/header.js'
import type {RuntimeSource} from '../../runtime/resolve.js'
import type {EngineCommandRun} from '../engine.js'

// The documents the real engine's operations return (and `--json` prints).

/** The runtime a result came from. */
export interface RuntimeInfo {
  version: string
  source: RuntimeSource
  reason: string
  packageDir: string
}

/** What every document of the real engine carries. */
export interface RuntimeDocument {
  engine: 'agentos'
  runtimeVersion: string
  runtime: RuntimeInfo
}

/** A command run in the real VM: the emulation's document, less what only an emulation has. */
export interface RuntimeCommandRun extends EngineCommandRun, RuntimeDocument {
  /** The packages as the runtime mounted them (directories and `.aospkg` files). */
  packages: string[]
  timings: {
    resolve: number
    start: number
    import: number
    create: number
    run: number
    dispose: number
    total: number
  }
}

/** `--which` in the real VM: what `command -v` answers there, and the file's header. */
export interface RuntimeWhich extends RuntimeDocument {
  command: string
  found: boolean
  /** The guest's PATH. */
  path: string[]
  /** What `command -v` printed (a path, or a shell builtin's name). */
  vmPath?: string
  /** `ls -l` of it: the link in /opt/agentos/bin and where it points. */
  listing?: string
  /** The package that lists the command, when one does. */
  package?: string
  /** `command -v` answered a name, not a path: the VM's shell runs its builtin (runtime 0.2.21). */
  builtin?: boolean
  /**
   * A package lists the command but `command -v` answers something else than its link in
   * /opt/agentos/bin: a shell builtin, or the kernel's /bin/<name> stub (the entry file is missing).
   */
  shadowed?: boolean
  kind?: HeaderKind
  description?: string
  exitCode: number
}

/** The real VM without a command: its software, agents, environment and working directory. */
export interface RuntimeVmDescription extends RuntimeDocument {
  packages: Array<{name: string; commands: string[]}>
  agents: Array<{id: string; installed: boolean}>
  env: Record<string, string>
  cwd: string
}

/** One step of an agent session in the real runtime. */
export interface RuntimeAgentStep {
  step: string
  ms: number
  ok: boolean
  detail?: string
}

/** `--agent` in the real runtime: a session opened through its session API. */
export interface RuntimeAgentReport extends RuntimeDocument {
  outcome: 'ok' | 'protocol-error' | 'timeout' | 'crashed'
  exitCode: number
  agent: {name: string}
  agentInfo?: {name?: string; version?: string; title?: string}
  agentCapabilities?: unknown
  sessionId?: string
  session?: unknown
  steps: RuntimeAgentStep[]
  prompt?: {text: string; stopReason?: string; reply: string}
  error?: {message: string}
  stderrTail: string
  timings: {resolve: number; start: number; create: number; dispose: number; total: number}
}

/** The real engine's results. */
export interface AgentosResults {
  describe: RuntimeVmDescription
  which: RuntimeWhich
  exec: RuntimeCommandRun
  agent: RuntimeAgentReport
}
