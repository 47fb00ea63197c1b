import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The flat option object npm hands to arborist/pacote (registry, auth, ca, proxy, cache…). */
export type NpmFlatOptions = Record<string, unknown> & {
  registry?: string
  cache?: string
  offline?: boolean
  preferOffline?: boolean
}

/** Overrides from our own flags, applied on top of the user's npm configuration. */
export interface NpmConfigOverrides {
  offline?: boolean
  preferOffline?: boolean
  registry?: string
}

/**
 * Loads the user's npm configuration exactly as npm does (`@npmcli/config`: CLI-free, then env
 * `npm_config_*`, project `.npmrc`, user `~/.npmrc`, global npmrc), flattened the way npm passes
 * it to arborist — so per-scope registries, auth tokens, `cafile`/`ca`, proxies and the cache
 * location all apply. Arborist itself reads none of these files.
 */
export async function loadNpmConfig(
  cwd: string,
  overrides: NpmConfigOverrides = {},
): Promise<NpmFlatOptions> {
  const [{default: Config}, {default: definitionsModule}] = await Promise.all([
    import('@npmcli/config'),
    import('@npmcli/config/lib/definitions/index.js'),
  ])
  const {definitions, flatten, shorthands} = definitionsModule as {
    definitions: Record<string, unknown>
    flatten: unknown
    shorthands: Record<string, unknown>
  }
  const config = new Config({
    // npmPath only locates npm's builtin npmrc; we are not npm, so point it at ourselves.
    npmPath: dirname(fileURLToPath(import.meta.url)),
    definitions,
    shorthands,
    flatten,
    argv: [process.execPath, 'agentos-toolchain'],
    cwd,
  })
  await config.load()
  const flat = {...(config.flat as NpmFlatOptions)}
  if (overrides.registry) flat.registry = overrides.registry
  if (overrides.offline) flat.offline = true
  if (overrides.preferOffline) flat.preferOffline = true
  return flat
}
