/**
 * Filesystem errors met while writing output, as coded errors: the one place an errno becomes an
 * `ERR_AGENTOS_OUT_*` code.
 */
import {AgentosError, isAgentosError} from '../errors.js'

/**
 * Turns a filesystem error while writing output into a coded error. An error that is already
 * coded (an unreadable source file met while copying) is returned as it is: it says more.
 *
 * @param hint replaces the hint of the code, for a writer whose failure leaves something else
 * behind (the archive writer: no partial archive).
 */
export function outputError(error: NodeJS.ErrnoException, path: string, hint?: string): AgentosError {
  if (isAgentosError(error)) return error
  const code =
    error.code === 'ENOSPC'
      ? 'ERR_AGENTOS_OUT_NO_SPACE'
      : error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS'
        ? 'ERR_AGENTOS_OUT_DENIED'
        : 'ERR_AGENTOS_OUT_WRITE_FAILED'
  const codeHint =
    code === 'ERR_AGENTOS_OUT_NO_SPACE'
      ? 'Free disk space or pass --out on another filesystem; nothing was changed.'
      : code === 'ERR_AGENTOS_OUT_DENIED'
        ? 'Pass --out in a directory you can write to; nothing was changed.'
        : 'Check the output location; nothing was changed.'
  return new AgentosError(code, `cannot write ${path}: ${error.code ?? error.message}`, {
    hint: hint ?? codeHint,
    path,
    cause: error,
  })
}
