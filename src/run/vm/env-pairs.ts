import {isPosixEnvName} from '../../format/paths.js'
import {runError} from '../errors.js'

// A leaf of its own: both engines parse `--env` with it, and the real engine must not load the
// emulation's VM model to do so.

/**
 * Parses `--env` values: `K=V` sets, the value may be empty and may contain `=`.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_ENV_INVALID` (usage, exit 2).
 */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    if (eq < 0 || !isPosixEnvName(name)) {
      throw runError('ERR_AGENTOS_RUN_ENV_INVALID', `--env ${JSON.stringify(pair)} is not NAME=VALUE`, {
        hint: 'Write --env NAME=value, with a name of letters, digits and _ not starting with a digit.',
        exitCode: 2,
      })
    }
    env[name] = pair.slice(eq + 1)
  }
  return env
}
