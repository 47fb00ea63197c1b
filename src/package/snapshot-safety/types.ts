/** The shapes of a snapshot-safety check: what it evaluates, how that went, and what it found. */
import type {Problem} from '../../errors.js'
import type {SnapshotRule} from './rules.js'

/** One violation: the rule, what was done, and the package frame that did it. */
export interface SnapshotFinding {
  rule: SnapshotRule
  code: string
  /** What the code did (`reads process.env.HOME`). */
  what: string
  /** Package-relative file of the frame that did it. */
  file: string
  line: number
  column: number
  function?: string
  /** Package frames from the culprit outwards (`file:line:col (fn)`), at most 8. */
  stack: string[]
}

/** The module-init code that was (or would be) evaluated. */
export interface SnapshotTarget {
  /** `bundle`: dist/sdk-snapshot.js; `entry`: the acpEntrypoint's bin file. */
  kind: 'bundle' | 'entry'
  /** Package-relative path. */
  file: string
  /** The acpEntrypoint command, for `entry`. */
  command?: string
}

/** How evaluating the target ended. */
export interface SnapshotEvaluation {
  status: 'ok' | 'threw' | 'uncaught' | 'exited' | 'timeout' | 'killed' | 'crashed'
  /** For `threw`/`uncaught`: the error; for `exited`: the exit code; for `crashed`: the log tail. */
  message?: string
  /** Package frame of a thrown error (`file:line:col`). */
  at?: string
}

/** Outcome of `node --build-snapshot` on the snapshot bundle. */
export interface SnapshotBuild {
  ok: boolean
  /** Size of the blob written, when it built. */
  bytes?: number
  /** First lines of stderr, when it failed. */
  stderr?: string[]
  exitCode?: number | null
  signal?: string | null
  timedOut?: boolean
}

/** Result of {@link checkSnapshotSafety}. */
export interface SnapshotCheckResult {
  /** Absent when the check was skipped (see the INFO problem). */
  target?: SnapshotTarget
  evaluation?: SnapshotEvaluation
  findings: SnapshotFinding[]
  build?: SnapshotBuild
  /** Everything above as validator problems (warnings, plus notes). */
  problems: Problem[]
}

/** Options of {@link checkSnapshotSafety}. */
export interface SnapshotCheckOptions {
  /** Kill the evaluating child after this many ms (default 10 000). */
  timeoutMs?: number
  /** Node.js to evaluate with (default: the CLI's own, or `node` on PATH in the single binary). */
  node?: string
  /** Also try `node --build-snapshot` on dist/sdk-snapshot.js when it exists (default true). */
  build?: boolean
}
