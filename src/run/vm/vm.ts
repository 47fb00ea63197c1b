import {posix} from 'node:path'
import {DEFAULT_SOFTWARE_COMMANDS, VM_SHELL_BUILTINS} from '../../format/default-software.js'
import {providesFileSourceMessage, shellBuiltinMessage} from '../../package/rules/runtime.js'
import {runError} from '../errors.js'
import type {RunCommand, RunPackage} from './mount.js'

// Not `import … from 'node:fs'`: see the note in run.ts.
const {statSync} = process.getBuiltinModule('node:fs')

/** The runtime's directory in the VM: `bin/` (command links) and `pkgs/` (the packages). */
export const AGENTOS_ROOT = '/opt/agentos'
/** Where commands are linked in the VM. */
export const AGENTOS_BIN = '/opt/agentos/bin'
/** Where packages are mounted: `<name>/<version>/`, with `<name>/current` → `<version>`. */
export const AGENTOS_PKGS = '/opt/agentos/pkgs'
/** The guest's home, and the working directory of agents. */
export const VM_HOME = '/home/agentos'
/** The working directory a command starts in (runtime 0.2.21: `vm.exec` and `vm.execArgv`). */
export const VM_WORKSPACE = '/workspace'

/**
 * The runtime's base environment, before packages and the user add to it, as runtime 0.2.21 shows
 * it to a process (test/conformance: `wasm-env-base`). `PWD` is added for the working directory.
 */
export const BASE_ENV: Readonly<Record<string, string>> = Object.freeze({
  CHARSET: 'UTF-8',
  HOME: VM_HOME,
  HOSTNAME: 'agentos',
  LANG: 'C.UTF-8',
  LC_COLLATE: 'C',
  LOGNAME: 'agentos',
  MANPATH: '/opt/agentos/share/man:/usr/local/share/man:/usr/share/man',
  PAGER: 'less',
  PATH: '/opt/agentos/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  PS1: '\\h:\\w\\$ ',
  SHELL: '/bin/sh',
  TMPDIR: '/tmp',
  USER: 'agentos',
})

/** Where a package is mounted: `/opt/agentos/pkgs/<name>/<version>`. */
export function packageMount(pkg: Pick<RunPackage, 'name' | 'version'>): string {
  return `${AGENTOS_PKGS}/${pkg.name}/${pkg.version}`
}

/** The package's `current` link, through which command links point: `/opt/agentos/pkgs/<name>/current`. */
export function packageCurrent(pkg: Pick<RunPackage, 'name'>): string {
  return `${AGENTOS_PKGS}/${pkg.name}/current`
}

/** A warning that the emulation's result differs from the runtime's (`WARN_AGENTOS_RUNTIME_…`). */
export interface RuntimeWarning {
  code: `WARN_AGENTOS_RUNTIME_${string}`
  message: string
}

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
  /** `/opt/agentos/pkgs/<package>/current/<entry>`: what the link points at. */
  target: string
  /** `/opt/agentos/pkgs/<package>/<version>/<entry>`: the target with `current` resolved. */
  resolved: string
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
  /** Where the VM differs from the runtime's, known before anything runs. */
  warnings: RuntimeWarning[]
}

/** Options of {@link buildVm}. */
export interface VmOptions {
  /** `--env K=V` pairs: always win. */
  userEnv?: Record<string, string>
  /** The agent whose `agent.env` is merged under the user env. */
  agent?: RunPackage
  /** Guest working directory (default `/workspace`; `/home/agentos` for an agent). */
  cwd?: string
}

/**
 * Builds the VM model from packages in the order given: each package mounted read-only at
 * `/opt/agentos/pkgs/<name>/<version>` (with `current` → `<version>`), each command linked at
 * `/opt/agentos/bin/<cmd>` through `current`, `provides.files` overlaid, and the environment merged
 * as the runtime does: base, then `provides.env` in package order where the key is still absent,
 * then `agent.env` likewise, then `--env` over everything; finally the scrub, which the runtime
 * does not do (a `WARN_AGENTOS_RUNTIME_ENV_SCRUBBED` warning). Sorted by name, as the runtime
 * hands it over.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_COMMAND_COLLISION`, `_PACKAGE_DUPLICATE`,
 *   `_OVERLAY_CONFLICT`, `_CWD_INVALID`.
 */
export function buildVm(packages: RunPackage[], options: VmOptions = {}): Vm {
  checkUniqueNames(packages)
  const links = linkCommands(packages)
  const overlays = overlaysOf(packages)
  const {env, envSources, scrubbed, warnings} = mergeEnv(packages, options)
  warnings.push(...defaultCommandWarnings(links), ...shellBuiltinWarnings(links))

  // An agent's session and process start in the home directory, a command in /workspace.
  const cwd = options.cwd ?? (options.agent ? VM_HOME : VM_WORKSPACE)
  if (!cwd.startsWith('/') || posix.normalize(cwd) !== cwd.replace(/(.)\/$/, '$1')) {
    throw runError('ERR_AGENTOS_RUN_CWD_INVALID', `--cwd ${cwd} is not an absolute, normalized VM path`, {
      hint: 'Pass an absolute path such as /workspace or /home/agentos.',
      exitCode: 2,
    })
  }
  const normalized = posix.normalize(cwd)
  // PWD comes with the working directory, unless the user set one.
  if (!('PWD' in env)) {
    env.PWD = normalized
    envSources.PWD = 'base'
  }
  warnings.push(...fileSourceWarnings(packages))
  return {packages, links, overlays, env: sortedByName(env), envSources, scrubbed, cwd: normalized, warnings}
}

/** Refuses two packages of the same name: both would mount at the same path. */
function checkUniqueNames(packages: RunPackage[]): void {
  const byName = new Map<string, RunPackage>()
  for (const pkg of packages) {
    const other = byName.get(pkg.name)
    if (other) {
      throw runError(
        'ERR_AGENTOS_RUN_PACKAGE_DUPLICATE',
        `two packages are named "${pkg.name}": ${other.dir} and ${pkg.dir}; both would mount at ${AGENTOS_PKGS}/${pkg.name}`,
        {
          hint: 'Pass one of them, or rename one in its agentos-package.json.',
          details: {dirs: [other.dir, pkg.dir]},
        },
      )
    }
    byName.set(pkg.name, pkg)
  }
}

/** The command links by name; two packages may not link the same command. */
function linkCommands(packages: RunPackage[]): Map<string, VmLink> {
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
        target: posix.join(packageCurrent(pkg), command.entry),
        resolved: posix.join(packageMount(pkg), command.entry),
        package: pkg,
        command,
      })
    }
  }
  return links
}

/** The `provides.files` overlays, parents first. */
function overlaysOf(packages: RunPackage[]): VmOverlay[] {
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
  return overlays
}

/** The guest environment merged as the runtime does, then scrubbed (with a warning for each). */
function mergeEnv(
  packages: RunPackage[],
  options: VmOptions,
): Pick<Vm, 'env' | 'envSources' | 'scrubbed' | 'warnings'> {
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
  const warnings: RuntimeWarning[] = []
  for (const name of Object.keys(env)) {
    if (!isScrubbedEnvName(name)) continue
    scrubbed.push({name, source: envSources[name]!})
    warnings.push({
      code: 'WARN_AGENTOS_RUNTIME_ENV_SCRUBBED',
      message: `${name} (from ${envSources[name]}) is removed from the guest environment: guests here are host processes, where it would load code into them; the runtime passes it through`,
    })
    delete env[name]
    delete envSources[name]
  }
  return {env, envSources, scrubbed, warnings}
}

function sortedByName(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/**
 * Runtime 0.2.21 mounts only directory sources of `provides.files` ("package provides file source
 * is not a directory; skipping"): a file source's target is absent there. The emulation shows the
 * file, as the spec says, and says so.
 */
function fileSourceWarnings(packages: RunPackage[]): RuntimeWarning[] {
  const warnings: RuntimeWarning[] = []
  for (const pkg of packages) {
    for (const file of pkg.provides.files) {
      let isFile = false
      try {
        isFile = statSync(posix.join(pkg.dir, file.source)).isFile()
      } catch {
        // A missing source is refused when the root is assembled, with its own code.
      }
      if (isFile) {
        warnings.push({
          code: 'WARN_AGENTOS_RUNTIME_PROVIDES_FILE_SOURCE',
          message: providesFileSourceMessage(pkg.name, file.target, file.source),
        })
      }
    }
  }
  return warnings
}

/**
 * A command named like one of the runtime's default software (`@agentos-software/common`): the
 * runtime refuses such a VM ("command is already provided by another package") unless it is made
 * with `defaultSoftware: false`. The emulation has no default software, so it only says so.
 */
function defaultCommandWarnings(links: Map<string, VmLink>): RuntimeWarning[] {
  // One warning per package: a coreutils-like package collides on a hundred names.
  const byPackage = new Map<string, string[]>()
  for (const link of links.values()) {
    if (!DEFAULT_SOFTWARE_COMMANDS.has(link.name)) continue
    byPackage.set(link.package.name, [...(byPackage.get(link.package.name) ?? []), link.name])
  }
  return [...byPackage].map(([pkg, names]) => {
    const shown = names.slice(0, 8).map((name) => `"${name}"`)
    const list = names.length > 8 ? `${shown.join(', ')} and ${names.length - 8} more` : shown.join(', ')
    return {
      code: 'WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND' as const,
      message: `${names.length === 1 ? 'command' : 'commands'} ${list} of ${pkg} ${names.length === 1 ? 'is' : 'are'} also ${names.length === 1 ? 'a command' : 'commands'} of the runtime's default software; the runtime refuses this VM unless it is made with defaultSoftware: false`,
    }
  })
}

/**
 * A command named like a builtin of the runtime's shell: linked and run by name as here, but in
 * the runtime's sh the builtin wins (here the host's sh has its own, different, set of builtins).
 */
function shellBuiltinWarnings(links: Map<string, VmLink>): RuntimeWarning[] {
  const names = [...links.values()].filter((link) => VM_SHELL_BUILTINS.has(link.name)).map((l) => l.name)
  return names.length === 0
    ? []
    : [{code: 'WARN_AGENTOS_RUNTIME_SHELL_BUILTIN' as const, message: shellBuiltinMessage(names)}]
}

export {parseEnvPairs} from './env-pairs.js'
