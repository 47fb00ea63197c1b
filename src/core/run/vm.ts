import {posix} from 'node:path'
import {isPosixEnvName} from '../format/paths.js'
import {runError} from './errors.js'
import type {RunCommand, RunPackage} from './package.js'

/** Where packages are mounted in the VM. */
export const AGENTOS_ROOT = '/opt/agentos'
/** Where commands are linked in the VM. */
export const AGENTOS_BIN = '/opt/agentos/bin'
/** The guest's home and default working directory. */
export const VM_HOME = '/home/agentos'

/** The runtime's base environment, before packages and the user add to it. */
export const BASE_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/opt/agentos/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: VM_HOME,
  USER: 'agentos',
  SHELL: '/bin/sh',
  LANG: 'C.UTF-8',
})

/**
 * Variables the runtime strips from a guest environment (as for an AT_SECURE exec): they would let
 * a caller inject code into every process of the VM.
 */
export function isScrubbedEnvName(name: string): boolean {
  return (
    name.startsWith('LD_') ||
    name.startsWith('DYLD_') ||
    name === 'NODE_OPTIONS' ||
    name === 'BASH_ENV' ||
    name.endsWith('PRELOAD')
  )
}

/** A command linked at `/opt/agentos/bin/<name>`. */
export interface VmLink {
  name: string
  /** `/opt/agentos/bin/<name>`. */
  vmPath: string
  /** `/opt/agentos/<package>/<entry>`: what the link points at. */
  target: string
  package: RunPackage
  command: RunCommand
}

/** A `provides.files` overlay: the package source shown at `target`, copied up on write. */
export interface VmOverlay {
  target: string
  /** Host path of the source inside the package. */
  hostSource: string
  package: RunPackage
}

/** Where one environment variable of the guest came from. */
export type EnvSource = 'base' | `provides:${string}` | `agent:${string}` | 'user'

/** The VM a `run` builds from its packages: mounts, links, overlays and environment. */
export interface Vm {
  packages: RunPackage[]
  /** Command links by name. */
  links: Map<string, VmLink>
  overlays: VmOverlay[]
  env: Record<string, string>
  envSources: Record<string, EnvSource>
  /** Variables removed by the scrub, with where they came from. */
  scrubbed: Array<{name: string; source: EnvSource}>
  /** Guest working directory. */
  cwd: string
}

/** Options of {@link buildVm}. */
export interface VmOptions {
  /** `--env K=V` pairs: always win. */
  userEnv?: Record<string, string>
  /** The agent whose `agent.env` is merged under the user env. */
  agent?: RunPackage
  /** Guest working directory (default `/home/agentos`). */
  cwd?: string
}

/**
 * Builds the VM model from packages in the order given: each package mounted read-only at
 * `/opt/agentos/<name>`, each command linked at `/opt/agentos/bin/<cmd>`, `provides.files`
 * overlaid, and the environment merged as the runtime does: base, then `provides.env` in package
 * order where the key is still absent, then `agent.env` likewise, then `--env` over everything;
 * finally the scrub.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_COMMAND_COLLISION`, `_PACKAGE_DUPLICATE`,
 *   `_OVERLAY_CONFLICT`, `_CWD_INVALID`.
 */
export function buildVm(packages: RunPackage[], options: VmOptions = {}): Vm {
  const byName = new Map<string, RunPackage>()
  for (const pkg of packages) {
    const other = byName.get(pkg.name)
    if (other) {
      throw runError(
        'ERR_AGENTOS_RUN_PACKAGE_DUPLICATE',
        `two packages are named "${pkg.name}": ${other.dir} and ${pkg.dir}; both would mount at ${AGENTOS_ROOT}/${pkg.name}`,
        {
          hint: 'Pass one of them, or rename one in its agentos-package.json.',
          details: {dirs: [other.dir, pkg.dir]},
        },
      )
    }
    byName.set(pkg.name, pkg)
  }

  const links = new Map<string, VmLink>()
  for (const pkg of packages) {
    for (const command of pkg.commands) {
      const existing = links.get(command.name)
      if (existing) {
        throw runError(
          'ERR_AGENTOS_RUN_COMMAND_COLLISION',
          `command "${command.name}" is provided by both ${existing.package.name} (${existing.package.dir}) and ${pkg.name} (${pkg.dir})`,
          {
            hint: 'The runtime refuses two packages that link the same command: drop one of the packages.',
            details: {
              command: command.name,
              packages: [
                {name: existing.package.name, dir: existing.package.dir, entry: existing.command.entry},
                {name: pkg.name, dir: pkg.dir, entry: command.entry},
              ],
            },
          },
        )
      }
      links.set(command.name, {
        name: command.name,
        vmPath: `${AGENTOS_BIN}/${command.name}`,
        target: posix.join(AGENTOS_ROOT, pkg.name, command.entry),
        package: pkg,
        command,
      })
    }
  }

  // Each package's own targets passed the manifest rules when it was loaded (reserved paths, one
  // inside another); what is left to refuse is two packages claiming the same path.
  const overlays: VmOverlay[] = []
  const targets = new Map<string, RunPackage>()
  for (const pkg of packages) {
    for (const file of pkg.provides.files) {
      const owner = targets.get(file.target)
      if (owner) {
        throw runError(
          'ERR_AGENTOS_RUN_OVERLAY_CONFLICT',
          `${file.target} is provided by both ${owner.name} and ${pkg.name}`,
          {hint: 'Two packages cannot overlay the same path: drop one of them.'},
        )
      }
      targets.set(file.target, pkg)
      overlays.push({target: file.target, hostSource: posix.join(pkg.dir, file.source), package: pkg})
    }
  }
  // Parents first, so a nested overlay lands inside its parent's copy.
  overlays.sort((a, b) => a.target.split('/').length - b.target.split('/').length)

  const env: Record<string, string> = {}
  const envSources: Record<string, EnvSource> = {}
  const put = (values: Record<string, string>, source: EnvSource, override: boolean) => {
    for (const [name, value] of Object.entries(values)) {
      if (!override && name in env) continue
      env[name] = value
      envSources[name] = source
    }
  }
  put(BASE_ENV, 'base', true)
  for (const pkg of packages) put(pkg.provides.env, `provides:${pkg.name}`, false)
  if (options.agent?.agent) put(options.agent.agent.env, `agent:${options.agent.name}`, true)
  put(options.userEnv ?? {}, 'user', true)
  const scrubbed: Vm['scrubbed'] = []
  for (const name of Object.keys(env)) {
    if (!isScrubbedEnvName(name)) continue
    scrubbed.push({name, source: envSources[name]!})
    delete env[name]
    delete envSources[name]
  }

  const cwd = options.cwd ?? VM_HOME
  if (!cwd.startsWith('/') || posix.normalize(cwd) !== cwd.replace(/(.)\/$/, '$1')) {
    throw runError('ERR_AGENTOS_RUN_CWD_INVALID', `--cwd ${cwd} is not an absolute, normalized VM path`, {
      hint: 'Pass an absolute path such as /home/agentos or /opt/agentos/<package>.',
      exitCode: 2,
    })
  }
  return {packages, links, overlays, env, envSources, scrubbed, cwd: posix.normalize(cwd)}
}

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
