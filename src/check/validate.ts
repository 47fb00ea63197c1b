import {AgentosError, EXIT_USAGE} from '../errors.js'
import {validatePackage, type ValidateOptions, type ValidationReport} from '../package/validate.js'
import {hostNode} from '../util/host-node.js'
import type {RuntimeValidationReport} from './runtime-check.js'

/** What `validate` was asked, after flag parsing. */
export interface ValidateInput extends ValidateOptions {
  /** `emulation` (default): the static checks only; `agentos`: the real runtime is asked too. */
  engine?: string
  /** `--runtime <dir>` (agentos engine). */
  runtime?: string
  /** Show the runtime's log lines on stderr (agentos engine). */
  verbose?: boolean
}

/**
 * `validate <target> [--engine agentos]`: the static verdict, and with the agentos engine the real
 * runtime's (src/check/runtime-check.ts, loaded only then).
 *
 * @throws AgentosError `ERR_AGENTOS_USAGE` (`--runtime` without `--engine agentos`), besides the
 *   errors of {@link validatePackage} and of the runtime check.
 */
export async function validateTarget(
  target: string,
  input: ValidateInput = {},
): Promise<ValidationReport | RuntimeValidationReport> {
  const options = {strict: input.strict, snapshot: input.snapshot}
  if (input.engine !== 'agentos') {
    if (input.runtime !== undefined) {
      throw new AgentosError('ERR_AGENTOS_USAGE', '--runtime needs --engine agentos', {
        hint: 'Add --engine agentos to check the package in the real agentOS runtime.',
        exitCode: EXIT_USAGE,
      })
    }
    return validatePackage(target, options)
  }
  const {validateWithRuntime} = await import('./runtime-check.js')
  return validateWithRuntime(
    target,
    {runtime: input.runtime, node: hostNode, verbose: input.verbose},
    options,
  )
}
