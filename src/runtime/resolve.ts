import {readdir, readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {AgentosError} from '../errors.js'
import {PINNED_RUNTIME_VERSION, RUNTIME_PACKAGE, RUNTIME_UMBRELLA_PACKAGE} from './version.js'

/** Which step of the resolution order found the runtime. */
export type RuntimeSource = 'flag' | 'env' | 'project' | 'cache'

/** A runtime `run --engine agentos` can load. */
export interface ResolvedRuntime {
  source: RuntimeSource
  /** Why this one, in words (`--runtime /x`, `AGENTOS_TOOLCHAIN_RUNTIME=/x`, …). */
  reason: string
  /** The directory of the `@rivet-dev/agentos-core` package. */
  packageDir: string
  version: string
  /** The ES module the driver imports (the package's `exports["."]` for `import`). */
  entry: string
}

/** Where to look, beyond the defaults. */
export interface RuntimeSearchOptions {
  /** `--runtime <dir>`. */
  runtime?: string
  /** The project whose `node_modules` is searched (default process.cwd()). */
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/** A runtime installed in the tool's cache by `runtime install`. */
export interface CachedRuntime {
  version: string
  /** `<cache>/runtime/<version>`. */
  dir: string
  packageDir: string
}

/**
 * The tool's cache: `$AGENTOS_TOOLCHAIN_CACHE`, else `$XDG_CACHE_HOME/agentos-toolchain`, else
 * `~/.cache/agentos-toolchain` — the same root as the `.aospkg` cache of the emulation
 * (src/run/vm/aospkg-cache.ts), repeated here so `run --engine agentos` loads none of the
 * emulation's modules.
 */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTOS_TOOLCHAIN_CACHE) return env.AGENTOS_TOOLCHAIN_CACHE
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'agentos-toolchain')
}

/** `<cache>/runtime`: one directory per installed version, each an npm prefix. */
export function runtimeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(toolCacheDir(env), 'runtime')
}

interface RuntimePackageJson {
  name?: unknown
  version?: unknown
  main?: unknown
  exports?: unknown
}

/**
 * The runtime package in `dir`, if `dir` holds one: the package itself, an npm prefix with it in
 * `node_modules`, or with it nested under the umbrella package. A `package.json` naming
 * `@rivet-dev/agentos-core` with a version is what proves a runtime here; whether it loads is
 * learnt when the driver imports it (`ERR_AGENTOS_RUNTIME_LOAD_FAILED`).
 */
export async function runtimeIn(
  dir: string,
): Promise<{packageDir: string; version: string; entry: string} | undefined> {
  for (const candidate of [
    dir,
    join(dir, 'node_modules', RUNTIME_PACKAGE),
    join(dir, 'node_modules', RUNTIME_UMBRELLA_PACKAGE, 'node_modules', RUNTIME_PACKAGE),
  ]) {
    const pjson = await readPackageJson(candidate)
    if (pjson?.name === RUNTIME_PACKAGE && typeof pjson.version === 'string') {
      return {packageDir: candidate, version: pjson.version, entry: join(candidate, entryOf(pjson))}
    }
  }
  return undefined
}

async function readPackageJson(dir: string): Promise<RuntimePackageJson | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'))
    return typeof value === 'object' && value !== null ? (value as RuntimePackageJson) : undefined
  } catch {
    return undefined
  }
}

/** The file `import('@rivet-dev/agentos-core')` loads: Node's `exports` rules for the `.` entry. */
function entryOf(pjson: RuntimePackageJson): string {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target
    if (Array.isArray(target)) {
      for (const item of target) {
        const found = pick(item)
        if (found) return found
      }
      return undefined
    }
    if (typeof target !== 'object' || target === null) return undefined
    const conditions = target as Record<string, unknown>
    // A conditions object (keys without a leading dot) or a subpath map (keys like ".").
    if (Object.keys(conditions).some((key) => key.startsWith('.'))) return pick(conditions['.'])
    for (const [condition, value] of Object.entries(conditions)) {
      if (['import', 'node', 'default'].includes(condition)) {
        const found = pick(value)
        if (found) return found
      }
    }
    return undefined
  }
  return pick(pjson.exports) ?? (typeof pjson.main === 'string' ? pjson.main : 'index.js')
}

/** Every runtime in the cache, newest version first (unreadable entries left out). */
export async function cachedRuntimes(env: NodeJS.ProcessEnv = process.env): Promise<CachedRuntime[]> {
  const base = runtimeCacheDir(env)
  const names = await readdir(base).catch(() => [] as string[])
  const found: CachedRuntime[] = []
  for (const name of names) {
    // Temp siblings of an install in progress start with a dot.
    if (name.startsWith('.')) continue
    const runtime = await runtimeIn(join(base, name))
    if (runtime && runtime.packageDir !== join(base, name))
      found.push({version: runtime.version, dir: join(base, name), packageDir: runtime.packageDir})
  }
  return found.sort((a, b) => compareVersions(b.version, a.version))
}

/**
 * Compares two semver versions (`1.2.3`, `1.2.3-rc.1`): negative, zero or positive. Enough for
 * picking the newest cached runtime without loading the semver package into `run`.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core = '', pre] = v.split('+')[0]!.split(/-(.*)/s)
    return {core: core.split('.').map((n) => Number(n) || 0), pre}
  }
  const x = split(a)
  const y = split(b)
  for (let i = 0; i < 3; i++) {
    const d = (x.core[i] ?? 0) - (y.core[i] ?? 0)
    if (d !== 0) return d
  }
  if (x.pre === y.pre) return 0
  if (x.pre === undefined) return 1
  if (y.pre === undefined) return -1
  return x.pre < y.pre ? -1 : 1
}

/** What {@link findRuntime} found, and every place it looked, in order. */
export interface RuntimeSearch {
  found?: ResolvedRuntime
  looked: string[]
}

/**
 * Looks for a runtime in the resolution order: `--runtime <dir>`, `$AGENTOS_TOOLCHAIN_RUNTIME`,
 * `@rivet-dev/agentos-core` (or `@rivet-dev/agentos`) resolvable from the project at `cwd` — the
 * version the user deploys —, then the cache (the pinned version if installed, else the newest).
 * An explicit `--runtime` or variable that holds no runtime is an error, not a step to skip: the
 * user asked for that one.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_INVALID`.
 */
export async function findRuntime(options: RuntimeSearchOptions = {}): Promise<RuntimeSearch> {
  const env = options.env ?? process.env
  const cwd = resolve(options.cwd ?? process.cwd())
  const looked: string[] = []
  const explicit: Array<{source: RuntimeSource; value: string | undefined; label: string}> = [
    {source: 'flag', value: options.runtime, label: '--runtime'},
    {source: 'env', value: env.AGENTOS_TOOLCHAIN_RUNTIME, label: 'AGENTOS_TOOLCHAIN_RUNTIME='},
  ]
  for (const {source, value, label} of explicit) {
    if (!value) continue
    const dir = resolve(cwd, value)
    const runtime = await runtimeIn(dir)
    const named = source === 'flag' ? `${label} ${value}` : `${label}${value}`
    if (!runtime) {
      throw new AgentosError(
        'ERR_AGENTOS_RUNTIME_INVALID',
        `${named}: ${dir} holds no ${RUNTIME_PACKAGE} package`,
        {
          hint: `Point it at an npm prefix with node_modules/${RUNTIME_PACKAGE} (npm install ${RUNTIME_PACKAGE}@${PINNED_RUNTIME_VERSION} --prefix <dir>) or at the package itself.`,
          path: dir,
        },
      )
    }
    return {found: {source, reason: named, ...runtime}, looked: [named]}
  }
  looked.push('--runtime (not given)', 'AGENTOS_TOOLCHAIN_RUNTIME (unset)')

  for (let dir = cwd; ; dir = dirname(dir)) {
    for (const nested of [
      join(dir, 'node_modules', RUNTIME_PACKAGE),
      join(dir, 'node_modules', RUNTIME_UMBRELLA_PACKAGE, 'node_modules', RUNTIME_PACKAGE),
    ]) {
      const runtime = await runtimeIn(nested)
      if (runtime?.packageDir === nested) {
        return {
          found: {source: 'project', reason: `the project's ${nested}`, ...runtime},
          looked,
        }
      }
    }
    if (dirname(dir) === dir) break
  }
  looked.push(`node_modules of ${cwd} and its parents`)

  const cached = await cachedRuntimes(env)
  const chosen = cached.find((c) => c.version === PINNED_RUNTIME_VERSION) ?? cached[0]
  if (chosen) {
    const runtime = (await runtimeIn(chosen.packageDir))!
    return {
      found: {
        source: 'cache',
        reason:
          chosen.version === PINNED_RUNTIME_VERSION
            ? `the cache (${chosen.dir}, the pinned version)`
            : `the cache (${chosen.dir}, the newest installed; the pinned ${PINNED_RUNTIME_VERSION} is not installed)`,
        ...runtime,
      },
      looked,
    }
  }
  looked.push(`the cache ${runtimeCacheDir(env)}`)
  return {looked}
}

/**
 * {@link findRuntime}, or the coded error naming every place it looked.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_NOT_FOUND`, `ERR_AGENTOS_RUNTIME_INVALID`.
 */
export async function resolveRuntime(options: RuntimeSearchOptions = {}): Promise<ResolvedRuntime> {
  const search = await findRuntime(options)
  if (search.found) return search.found
  throw new AgentosError(
    'ERR_AGENTOS_RUNTIME_NOT_FOUND',
    `no agentOS runtime (${RUNTIME_PACKAGE}) found; looked at: ${search.looked.join('; ')}`,
    {
      hint: `agentos-toolchain runtime install (installs ${RUNTIME_PACKAGE}@${PINNED_RUNTIME_VERSION} into the cache), or npm install ${RUNTIME_PACKAGE} in your project, or --runtime <dir>.`,
      details: {looked: search.looked},
    },
  )
}
