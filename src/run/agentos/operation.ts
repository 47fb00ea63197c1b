import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {AgentosError} from '../../errors.js'
import {resolveRuntime, type ResolvedRuntime} from '../../runtime/resolve.js'
import type {EngineOptions} from '../engine.js'
import {runError} from '../errors.js'
import {parseEnvPairs} from '../vm/env-pairs.js'
import {runDriver, type DriverOptions, type DriverOutcome} from './client.js'
import type {DriverRequest} from './protocol.js'
import type {RuntimeDocument} from './results.js'

// What every operation of the real engine shares: the checks and runtime resolution before the
// driver starts, the one call to the driver, and the document header of its result.

/** Settings only the real runtime has. */
export interface AgentosSettings {
  /** `--runtime <dir>`. */
  runtime?: string
  /** The Node.js that runs the driver. */
  node: () => string
  /** Show the runtime's log lines. */
  verbose?: boolean
  /** Where the project is (the runtime it depends on is preferred); default process.cwd(). */
  cwd?: string
}

/** What {@link prepare} found out: the runtime, the packages to mount, the guest's environment. */
export interface Prepared {
  runtime: ResolvedRuntime
  packages: string[]
  env: Record<string, string>
  resolveMs: number
  /** When the operation started (`performance.now()`). */
  started: number
}

/** Milliseconds to a tenth, as every timing is reported. */
export const round = (ms: number) => Math.round(ms * 10) / 10

/** Checks the inputs and resolves the runtime and packages, before any driver starts. */
export async function prepare(settings: AgentosSettings, options: EngineOptions): Promise<Prepared> {
  const t = performance.now()
  if (options.inputs.length === 0) {
    throw runError('ERR_AGENTOS_RUN_NO_PACKAGE', 'no package given', {
      hint: 'Pass at least one package directory or software module: run --engine agentos ./my-tool-package -- my-tool',
      exitCode: 2,
    })
  }
  const env = parseEnvPairs(options.env ?? [])
  const runtime = await resolveRuntime({runtime: settings.runtime, cwd: settings.cwd})
  const {inputPackagePaths} = await import('../vm/inputs.js')
  const packages = await inputPackagePaths(options.inputs, options.baseDir)
  await checkMountable(packages)
  return {runtime, packages, env, resolveMs: round(performance.now() - t), started: t}
}

/** The header every document of the real engine starts with. */
export function runtimeDocument(runtime: ResolvedRuntime): RuntimeDocument {
  return {
    engine: 'agentos',
    runtimeVersion: runtime.version,
    runtime: {
      version: runtime.version,
      source: runtime.source,
      reason: runtime.reason,
      packageDir: runtime.packageDir,
    },
  }
}

/** Runs one request in the driver; a failure it reports becomes a coded error. */
export async function drive(
  settings: AgentosSettings,
  request: Omit<DriverRequest, 'entry'>,
  runtime: ResolvedRuntime,
  extra: Partial<DriverOptions> = {},
): Promise<DriverOutcome & {result: Record<string, unknown>}> {
  const outcome = await runDriver(
    {...request, entry: runtime.entry},
    {node: settings.node(), verbose: settings.verbose, ...extra},
  )
  if (outcome.fail) throw failure(outcome, runtime)
  return outcome as DriverOutcome & {result: Record<string, unknown>}
}

/**
 * The runtime mounts a package directory only when it holds `agentos-package.json` (or a
 * `package.aospkg`); said up front with the file named, instead of the runtime's error after a VM
 * start. The emulation also takes a bare `package.json`, which is one of its divergences.
 */
async function checkMountable(packages: string[]): Promise<void> {
  for (const dir of packages) {
    const info = await stat(dir).catch(() => undefined)
    if (!info) {
      throw runError('ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND', `${dir} does not exist`, {
        hint: 'Pass a package directory, an .aospkg archive or a software module.',
        path: dir,
      })
    }
    if (!info.isDirectory()) continue
    const has = async (name: string) =>
      (await stat(join(dir, name)).catch(() => undefined))?.isFile() === true
    if (!(await has('agentos-package.json')) && !(await has('package.aospkg'))) {
      throw runError(
        'ERR_AGENTOS_RUNTIME_PACKAGE_UNSUPPORTED',
        `${join(dir, 'agentos-package.json')} is missing, and the agentOS runtime mounts no package directory without it`,
        {
          hint: 'Write {"name": …, "version": …} there (pack and assemble-wasm do), or pass the package as an .aospkg.',
          path: join(dir, 'agentos-package.json'),
        },
      )
    }
  }
}

/** The coded error for a driver that reported a failure, by the stage it failed in. */
export function failure(outcome: DriverOutcome, runtime: ResolvedRuntime): AgentosError {
  const fail = outcome.fail!
  const details = {stage: fail.stage, name: fail.name, code: fail.code, logTail: outcome.logTail}
  if (fail.stage === 'load') {
    return new AgentosError(
      'ERR_AGENTOS_RUNTIME_LOAD_FAILED',
      `cannot load the agentOS runtime ${runtime.version} from ${runtime.entry}: ${fail.message}`,
      {
        hint: `Reinstall it (agentos-toolchain runtime install --force) or pick another (--runtime <dir>); it was chosen from ${runtime.reason}.`,
        path: runtime.entry,
        details,
      },
    )
  }
  return runError(
    fail.stage === 'create' ? 'ERR_AGENTOS_RUNTIME_VM_FAILED' : 'ERR_AGENTOS_RUNTIME_FAILED',
    `the agentOS runtime ${runtime.version} failed (${fail.stage}): ${fail.message.split('\n')[0]}`,
    {hint: 'Run again with --verbose to see the runtime log.', details},
  )
}
