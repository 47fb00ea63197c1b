/**
 * What `run --agent` reports, and the failure that ends a smoke test with an outcome instead of an
 * exception. A leaf: the handshake, the callbacks and runAgent all fill the same report.
 */
import type {GuestExit} from '../process/spawn.js'
import type {RunIsolation} from '../run.js'

/** Time limits of the smoke test, in milliseconds (0: none). */
export interface AgentTimeouts {
  initialize: number
  session: number
  prompt: number
  /** Grace between SIGTERM and SIGKILL when closing. */
  killAfter: number
}

/** The runtime's limits: initialize 10 s, session/new 30 s, no limit on a prompt, SIGKILL after 5 s. */
export const DEFAULT_AGENT_TIMEOUTS: AgentTimeouts = {
  initialize: 10_000,
  session: 30_000,
  prompt: 0,
  killAfter: 5000,
}

/** How the smoke test ended. */
export type AgentOutcome = 'ok' | 'protocol-error' | 'timeout' | 'crashed'

/** One step of the smoke test and the time it took. */
export interface AgentStep {
  step: 'spawn' | 'initialize' | 'session/new' | 'session/prompt' | 'close'
  ms: number
  ok: boolean
  detail?: string
}

/** What `run --agent` reports. */
export interface AgentReport {
  outcome: AgentOutcome
  /** The CLI's exit code for this outcome (0 ok, 3 protocol error, 4 timeout, 5 crashed). */
  exitCode: number
  agent: {name: string; version?: string; dir: string; acpEntrypoint: string; argv: string[]}
  isolation: RunIsolation
  isolationReason?: string
  steps: AgentStep[]
  protocolVersion?: number
  agentInfo?: {name?: string; version?: string; title?: string}
  agentCapabilities?: unknown
  authMethods?: Array<{id: string; name?: string; description?: string}>
  sessionId?: string
  prompt?: {text: string; stopReason?: string; updates: unknown[]; reply: string}
  /** What went wrong, for every outcome but ok. */
  error?: {message: string; code?: number; data?: unknown; line?: string}
  /** The end of the agent's stderr (always kept; shown on failure). */
  stderrTail: string
  exit?: GuestExit
  close?: {how: 'exited' | 'SIGTERM' | 'SIGKILL'; ms: number}
}

/** A smoke test that ends with an outcome other than ok. */
export class Failure extends Error {
  constructor(
    readonly outcome: Exclude<AgentOutcome, 'ok'>,
    message: string,
    readonly extra: {code?: number; data?: unknown; line?: string} = {},
  ) {
    super(message)
  }
}

/** Milliseconds since `t` (a `performance.now()`), to a tenth. */
export const since = (t: number) => Math.round((performance.now() - t) * 10) / 10
