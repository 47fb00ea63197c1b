import {cachedRuntimes, findRuntime, runtimeCacheDir, type RuntimeSource} from './resolve.js'
import {PINNED_RUNTIME_VERSION} from './version.js'

/** What `runtime list` reports. */
export interface RuntimeList {
  cacheDir: string
  pinned: string
  installed: Array<{version: string; dir: string; packageDir: string}>
  /** The runtime `run --engine agentos` would use from here (without `--runtime`), and why. */
  selected?: {version: string; source: RuntimeSource; reason: string; packageDir: string; dir?: string}
  /** Where the search looked before it found one (or everywhere, when none). */
  looked: string[]
}

/**
 * The cached runtimes and the resolution `run --engine agentos` would make from `cwd`.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_INVALID` (`$AGENTOS_TOOLCHAIN_RUNTIME` names no runtime).
 */
export async function listRuntimes(
  options: {cwd?: string; env?: NodeJS.ProcessEnv} = {},
): Promise<RuntimeList> {
  const env = options.env ?? process.env
  const installed = await cachedRuntimes(env)
  const search = await findRuntime({cwd: options.cwd, env})
  const found = search.found
  return {
    cacheDir: runtimeCacheDir(env),
    pinned: PINNED_RUNTIME_VERSION,
    installed,
    selected: found && {
      version: found.version,
      source: found.source,
      reason: found.reason,
      packageDir: found.packageDir,
      dir: installed.find((i) => i.packageDir === found.packageDir)?.dir,
    },
    looked: search.looked,
  }
}
