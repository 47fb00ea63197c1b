import {randomBytes} from 'node:crypto'
import {mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {AgentosError} from '../errors.js'
import {cachedRuntimes, runtimeCacheDir, runtimeIn} from './resolve.js'
import {PINNED_RUNTIME_VERSION, RUNTIME_PACKAGE} from './version.js'

/** The steps of `runtime install`, in order, with their progress titles. */
export const RUNTIME_INSTALL_STEPS = {
  config: 'Read the npm configuration',
  install: 'Install the runtime (download, verify integrity, build)',
  verify: 'Check the installed runtime',
  commit: 'Move it into the cache',
} as const

/** One step of {@link installRuntime}. */
export type RuntimeInstallStep = keyof typeof RUNTIME_INSTALL_STEPS

/** Options of {@link installRuntime}. */
export interface RuntimeInstallOptions {
  /** A version, range or dist-tag of `@rivet-dev/agentos-core` (default: the pinned version). */
  version?: string
  /** Reinstall even when that version is in the cache. */
  force?: boolean
  /** Where the npm configuration is read from (project `.npmrc`); default process.cwd(). */
  cwd?: string
  env?: NodeJS.ProcessEnv
  reporter?: {
    start?(step: RuntimeInstallStep): void
    done?(step: RuntimeInstallStep, detail?: string): void
    skip?(step: RuntimeInstallStep, reason: string): void
  }
}

/** What `runtime install` did. */
export interface RuntimeInstallResult {
  version: string
  /** `<cache>/runtime/<version>`. */
  dir: string
  packageDir: string
  /** True when the version was already installed and nothing was done. */
  alreadyInstalled: boolean
  /** The registry's integrity of the runtime tarball, as npm verified it. */
  integrity?: string
  /** Packages in the installed tree. */
  packages?: number
  ms: number
}

const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/

/**
 * Installs the runtime into the tool's cache with @npmcli/arborist and the user's npm
 * configuration (registry, auth, proxy, cache — as `pack` does), the way `npm install
 * @rivet-dev/agentos-core@<version>` would: tarballs checked against the registry's integrity, and
 * install scripts run, because the runtime's better-sqlite3 builds its native addon in one. The
 * install goes to a temp sibling that is renamed into place, so the cache never holds a partial
 * runtime under a version's name.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_INSTALL_FAILED`, `ERR_AGENTOS_RUNTIME_NOT_IN_REGISTRY`,
 *   `ERR_AGENTOS_RUNTIME_REGISTRY_UNREACHABLE`, `ERR_AGENTOS_RUNTIME_CACHE`.
 */
export async function installRuntime(options: RuntimeInstallOptions = {}): Promise<RuntimeInstallResult> {
  const started = performance.now()
  const env = options.env ?? process.env
  const wanted = options.version ?? PINNED_RUNTIME_VERSION
  const base = runtimeCacheDir(env)
  const report = options.reporter ?? {}
  const elapsed = () => Math.round(performance.now() - started)

  if (EXACT.test(wanted) && !options.force) {
    const present = (await cachedRuntimes(env)).find((c) => c.version === wanted)
    if (present) {
      for (const step of Object.keys(RUNTIME_INSTALL_STEPS) as RuntimeInstallStep[])
        report.skip?.(step, `${wanted} is already installed`)
      return {
        version: wanted,
        dir: present.dir,
        packageDir: present.packageDir,
        alreadyInstalled: true,
        ms: elapsed(),
      }
    }
  }

  report.start?.('config')
  const {loadNpmConfig} = await import('../pack/npm-config.js')
  const npmConfig = await loadNpmConfig(options.cwd ?? process.cwd())
  report.done?.('config', String(npmConfig.registry ?? 'https://registry.npmjs.org/'))

  const staging = join(base, `.install-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await makeStaging(staging, base)
    report.start?.('install')
    const tree = await reify(staging, wanted, npmConfig)
    report.done?.('install', `${tree.inventory?.size ?? '?'} packages`)

    report.start?.('verify')
    const runtime = await verifyStaging(staging, wanted)
    const node = tree.children?.get(RUNTIME_PACKAGE)
    const integrity = node?.integrity ?? undefined
    report.done?.(
      'verify',
      `${RUNTIME_PACKAGE}@${runtime.version}${integrity ? ` ${integrity.slice(0, 20)}…` : ''}`,
    )

    report.start?.('commit')
    const dir = join(base, runtime.version)
    if (!(await commit(staging, dir, base, runtime.version, options.force))) {
      // Another install of the same version finished first: keep it, drop ours.
      report.done?.('commit', `${dir} (already there)`)
      return {
        version: runtime.version,
        dir,
        packageDir: join(dir, 'node_modules', RUNTIME_PACKAGE),
        alreadyInstalled: true,
        ms: elapsed(),
      }
    }
    report.done?.('commit', dir)
    const packageJson = JSON.parse(
      await readFile(join(dir, 'node_modules', RUNTIME_PACKAGE, 'package.json'), 'utf8'),
    ) as {version: string}
    return {
      version: packageJson.version,
      dir,
      packageDir: join(dir, 'node_modules', RUNTIME_PACKAGE),
      alreadyInstalled: false,
      integrity,
      packages: tree.inventory?.size,
      ms: elapsed(),
    }
  } finally {
    await rm(staging, {recursive: true, force: true})
  }
}

/** The empty npm project the runtime is installed into. */
async function makeStaging(staging: string, base: string): Promise<void> {
  try {
    await mkdir(staging, {recursive: true})
    await writeFile(join(staging, 'package.json'), '{"private": true}\n')
  } catch (error) {
    throw new AgentosError(
      'ERR_AGENTOS_RUNTIME_CACHE',
      `cannot write the runtime cache ${base}: ${(error as NodeJS.ErrnoException).code}`,
      {
        hint: 'Make it writable, or point AGENTOS_TOOLCHAIN_CACHE at a writable directory.',
        path: base,
        cause: error,
      },
    )
  }
}

/** Installs the runtime into `staging` with arborist; its errors become coded ones. */
async function reify(staging: string, wanted: string, npmConfig: Record<string, unknown>): Promise<ArbTree> {
  const Arborist = (await import('@npmcli/arborist')).default as unknown as new (options: object) => {
    reify(options: object): Promise<ArbTree>
  }
  try {
    return await new Arborist({
      ...npmConfig,
      path: staging,
      // What an app that deploys the runtime gets: production dependencies, hoisted.
      omit: ['dev'],
      installStrategy: 'hoisted',
      audit: false,
      fund: false,
      save: true,
    }).reify({add: [`${RUNTIME_PACKAGE}@${wanted}`]})
  } catch (error) {
    throw installError(
      error as NodeJS.ErrnoException & {pkgid?: string},
      wanted,
      String(npmConfig.registry ?? ''),
    )
  }
}

/** The runtime the install left in `staging`, checked to have its entry file. */
async function verifyStaging(staging: string, wanted: string): Promise<{version: string}> {
  const runtime = await runtimeIn(staging)
  if (
    !runtime ||
    !(await stat(runtime.entry).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    throw new AgentosError(
      'ERR_AGENTOS_RUNTIME_INSTALL_FAILED',
      `the install of ${RUNTIME_PACKAGE}@${wanted} left no loadable package in ${staging}`,
      {
        hint:
          'Run again; if it persists, install by hand: npm install ' +
          `${RUNTIME_PACKAGE}@${wanted} --prefix <dir>, then --runtime <dir>.`,
      },
    )
  }
  return runtime
}

/**
 * Moves `staging` to `dir`, replacing what is there with `force`. False when `dir` exists and
 * `force` is not given: nothing is moved.
 */
async function commit(
  staging: string,
  dir: string,
  base: string,
  version: string,
  force: boolean | undefined,
): Promise<boolean> {
  let trash: string | undefined
  if (await exists(dir)) {
    if (!force) return false
    trash = join(base, `.old-${version}-${randomBytes(4).toString('hex')}`)
    await rename(dir, trash)
  }
  await rename(staging, dir)
  if (trash) await rm(trash, {recursive: true, force: true})
  return true
}

/** The slice of arborist's tree read here. */
interface ArbTree {
  inventory?: {size: number}
  children?: Map<string, {integrity?: string | null}>
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

function installError(
  error: NodeJS.ErrnoException & {pkgid?: string},
  wanted: string,
  registry: string,
): AgentosError {
  const spec = `${RUNTIME_PACKAGE}@${wanted}`
  switch (error.code) {
    case 'E404':
    case 'ETARGET':
      return new AgentosError(
        'ERR_AGENTOS_RUNTIME_NOT_IN_REGISTRY',
        `${error.pkgid ?? spec} is not in the registry ${registry}`,
        {
          hint: `Check the version (the pinned one is ${PINNED_RUNTIME_VERSION}) or the registry configured for @rivet-dev.`,
          cause: error,
        },
      )
    case 'ENOTFOUND':
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EAI_AGAIN':
    case 'ECONNRESET':
      return new AgentosError(
        'ERR_AGENTOS_RUNTIME_REGISTRY_UNREACHABLE',
        `cannot reach the registry ${registry} (${error.code})`,
        {
          hint: 'Check the network or proxy settings in your .npmrc.',
          cause: error,
        },
      )
    default:
      return new AgentosError(
        'ERR_AGENTOS_RUNTIME_INSTALL_FAILED',
        `installing ${spec} failed: ${error.message?.split('\n')[0]}`,
        {
          hint: 'An install script may have failed (better-sqlite3 builds a native addon: it needs python3, make and a C++ compiler when no prebuilt binary downloads).',
          cause: error,
        },
      )
  }
}
