import {AgentosError, type AgentosErrorOptions, isAgentosError} from '../errors.js'

/**
 * Exit codes of `run` itself, kept apart from the guest's own codes the way `env`, `timeout` and
 * shells do, so a script can tell "the command failed" from "the command never ran".
 */
export const RUN_EXIT = {
  /** The guest command ran past `--timeout` and was stopped (as `timeout(1)`). */
  timeout: 124,
  /** The VM could not be set up: bad package, collision, isolation failure. */
  failed: 125,
  /** The command was found but cannot execute: native binary, unknown header, missing interpreter. */
  cannotExecute: 126,
  /** The command was not found on the VM's PATH. */
  notFound: 127,
} as const

/** Exit codes of `run --agent`: one per outcome of the ACP smoke test. */
export const AGENT_EXIT = {
  ok: 0,
  protocolError: 3,
  timeout: 4,
  crashed: 5,
} as const

/** A coded `run` error; the exit code defaults to {@link RUN_EXIT.failed}. */
export function runError(code: string, message: string, options: AgentosErrorOptions = {}): AgentosError {
  return new AgentosError(code, message, {exitCode: RUN_EXIT.failed, ...options})
}

/**
 * Re-issues a coded error from the shared core (package reader, defineSoftware) with `run`'s exit
 * code, so a setup failure never reads as a guest exit status of 1.
 */
export function asRunError(error: unknown): unknown {
  if (!isAgentosError(error) || error.exitCode !== 1) return error
  return new AgentosError(error.code, error.message, {
    hint: error.hint,
    path: error.path,
    details: error.details,
    exitCode: RUN_EXIT.failed,
    cause: error,
  })
}
