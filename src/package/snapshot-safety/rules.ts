/** The spec's snapshot-safety rules: their names, problem codes and hints. */

/** One rule of the spec's snapshot-safety list. */
export type SnapshotRule =
  | 'NATIVE_ADDON'
  | 'WASM'
  | 'OPEN_FD'
  | 'SOCKET'
  | 'TIMER'
  | 'WORKER'
  | 'PENDING_PROMISE'
  | 'ENV_READ'
  | 'CWD_READ'
  | 'DATE_NOW'
  | 'MATH_RANDOM'
  | 'RANDOM_UUID'
  | 'CRYPTO_RANDOM'

/** What to do about a finding of each rule. */
export const RULE_HINTS: Record<SnapshotRule, string> = {
  NATIVE_ADDON:
    'Load the addon lazily (inside a function called per session), or set agent.snapshot to false.',
  WASM: 'Compile and instantiate WebAssembly lazily, inside a function called per session.',
  OPEN_FD: 'Open files per session, or close them before module init ends.',
  SOCKET: 'Connect or listen per session, never at import time.',
  TIMER: 'Start timers per session, or clear them before module init ends.',
  WORKER: 'Start workers per session, never at import time.',
  PENDING_PROMISE: 'Do not start async work at import time; start it from a function called per session.',
  ENV_READ:
    'Read process.env when a session starts, not at import time: the snapshot would bake in the value.',
  CWD_READ: 'Read the working directory per session, not at import time.',
  DATE_NOW: 'Read the clock per session; a time taken at import time is frozen into the snapshot.',
  MATH_RANDOM: 'Draw random numbers per session; every session would start from the same value.',
  RANDOM_UUID: 'Make UUIDs per session; every session would share the one made at import time.',
  CRYPTO_RANDOM: 'Draw random bytes per session; every session would share the bytes drawn at import time.',
}

/** The rule names, to tell a known rule in the probe's report. */
export const RULES = new Set<string>(Object.keys(RULE_HINTS))

/** Stable problem code of a rule: `WARN_AGENTOS_SNAPSHOT_<RULE>`. */
export function snapshotRuleCode(rule: SnapshotRule): string {
  return `WARN_AGENTOS_SNAPSHOT_${rule}`
}
