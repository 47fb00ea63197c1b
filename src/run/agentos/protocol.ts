// What the CLI and the driver of `run --engine agentos` say to each other (the protocol is described
// in driver.ts). Types only, so that the CLI side imports none of the driver's code.

/** What the parent asks for. */
export interface DriverRequest {
  op: 'exec' | 'which' | 'describe' | 'agent' | 'check'
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
  /** `check`: the commands to look up on `$PATH` (one `command -v` each). */
  commands?: string[]
  /** `check`: open a session with the agent too. */
  session?: boolean
}

/** What the driver reports. */
export type DriverEvent =
  | {type: 'phase'; phase: string; ms: number}
  | {type: 'stdout' | 'stderr'; data: string}
  | {type: 'update'; update: Record<string, unknown>}
  | {type: 'result'; result: Record<string, unknown>}
  | {type: 'fail'; stage: string; message: string; name?: string; code?: string}
