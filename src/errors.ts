/**
 * User-facing failures carry a stable code, a one-line message naming the file or field, and a
 * hint saying what to do. Anything that is not an `AgentosError` is a programmer error.
 */

/** Exit status for a failed operation or problems found. */
export const EXIT_FAILED = 1
/** Exit status for a usage error (bad flags or arguments). */
export const EXIT_USAGE = 2

/** Options accepted by {@link AgentosError}. */
export interface AgentosErrorOptions {
  /** What the user should do about it. */
  hint?: string
  /** The file (or `file#field`) the error is about. */
  path?: string
  /** Process exit code the CLI uses for this error (default 1). */
  exitCode?: number
  /** The lower-level error that caused this one. */
  cause?: unknown
  /** Structured detail for `--json` (e.g. the list of native files found). */
  details?: unknown
}

/** A coded, user-facing error. Its `code` always starts with `ERR_AGENTOS_`. */
export class AgentosError extends Error {
  readonly code: string
  readonly hint?: string
  readonly path?: string
  readonly exitCode: number
  readonly details?: unknown

  constructor(code: string, message: string, options: AgentosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    if (!code.startsWith('ERR_AGENTOS_')) throw new Error(`error code must start with ERR_AGENTOS_: ${code}`)
    this.code = code
    this.hint = options.hint
    this.path = options.path
    this.exitCode = options.exitCode ?? EXIT_FAILED
    this.details = options.details
  }

  /** The JSON form printed under `--json`. */
  toJSON(): {code: string; message: string; hint?: string; path?: string; details?: unknown} {
    return {code: this.code, message: this.message, hint: this.hint, path: this.path, details: this.details}
  }
}
Object.defineProperty(AgentosError.prototype, 'name', {value: 'AgentosError', enumerable: false})

/** True for coded user errors, also across module copies (the single binary bundles its own). */
export function isAgentosError(error: unknown): error is AgentosError {
  return (
    error instanceof AgentosError ||
    (error instanceof Error &&
      error.name === 'AgentosError' &&
      typeof (error as {code?: unknown}).code === 'string')
  )
}

/** Severity of a reported problem. `info` never fails a check, `warning` only under `--strict`. */
export type Severity = 'error' | 'warning' | 'info'

/** One finding of a check: what is wrong, where, and what to do. */
export interface Problem {
  /** Stable code: `ERR_AGENTOS_…`, `WARN_AGENTOS_…` or `INFO_AGENTOS_…`. */
  code: string
  severity: Severity
  /** Package-relative path, optionally with `#field` (e.g. `package.json#bin.foo`). */
  path?: string
  message: string
  hint?: string
}
