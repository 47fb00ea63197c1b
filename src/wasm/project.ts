/**
 * The project `assemble-wasm` assembles from: its directory (the base of `include`), the package
 * name and version, and the manifest it starts from.
 *
 * The project (package.json, Cargo.toml, agentos-package.json, and the base of `include`) is the
 * nearest directory at or above `project` (default: the cwd) holding a package.json or a
 * Cargo.toml; the walk stops at a repository root (a directory holding `.git`), so a stray
 * package.json in a home directory is never picked up. At that directory package.json wins over
 * Cargo.toml, field by field.
 */
import {lstat, readFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import semver from 'semver'
import {parse as parseToml} from 'smol-toml'
import {AgentosError, EXIT_USAGE, type Problem} from '../errors.js'
import {parseJsonDocument} from '../format/json.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {isNpmPackageName} from '../format/npm-name.js'
import {displayPath, isFile} from './paths.js'

/** The project's directory and what its metadata says. */
export interface ProjectInfo {
  /** The directory holding the metadata (else the start directory). */
  root: string
  name?: string
  version?: string
  /** Metadata files that were read. */
  from: string[]
}

/**
 * The package name and version: the options' when given, else the project's; both must be there
 * and valid.
 *
 * @throws AgentosError when either is missing or invalid.
 */
export function packageIdentity(
  options: {name?: string; version?: string},
  project: ProjectInfo,
  projectDir: string,
  cwd: string,
): {name: string; version: string} {
  const name = options.name ?? project.name
  const version = options.version ?? project.version
  const read = project.from.map((file) => displayPath(file, cwd)).join(' and ')
  if (!name) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_NAME_REQUIRED',
      read
        ? `no package name: ${read} names none`
        : `no package name: no package.json or Cargo.toml in ${displayPath(projectDir, cwd)} or above`,
      {
        hint: 'Pass --name <name> (and --version <x.y.z>), or run in the project directory.',
        exitCode: EXIT_USAGE,
      },
    )
  }
  if (!version) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_VERSION_REQUIRED',
      read
        ? `no package version: ${read} gives none`
        : `no package version: no package.json or Cargo.toml in ${displayPath(projectDir, cwd)} or above`,
      {hint: 'Pass --version <x.y.z>, or set "version" in package.json / Cargo.toml.', exitCode: EXIT_USAGE},
    )
  }
  checkNameAndVersion(name, version)
  return {name, version}
}

function checkNameAndVersion(name: string, version: string): void {
  if (!isNpmPackageName(name)) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_NAME_INVALID',
      `package name ${JSON.stringify(name)} is not a valid npm name`,
      {
        hint: 'Pass --name with an npm name such as "my-cmds" or "@scope/my-cmds".',
        exitCode: EXIT_USAGE,
      },
    )
  }
  if (!semver.valid(version)) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_VERSION_INVALID',
      `version ${JSON.stringify(version)} is not semver`,
      {
        hint: 'Pass --version with a version such as "1.0.0".',
        exitCode: EXIT_USAGE,
      },
    )
  }
}

/** Walks up from `start` to the nearest directory holding package.json or Cargo.toml. */
export async function findProject(start: string): Promise<ProjectInfo> {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkgFile = join(dir, 'package.json')
    const cargoFile = join(dir, 'Cargo.toml')
    const hasPkg = await isFile(pkgFile)
    const hasCargo = await isFile(cargoFile)
    if (hasPkg || hasCargo) {
      const info: ProjectInfo = {root: dir, from: []}
      if (hasPkg) {
        const pkg = await readJsonObject(pkgFile)
        info.from.push(pkgFile)
        if (typeof pkg.name === 'string' && pkg.name !== '') info.name = pkg.name
        if (typeof pkg.version === 'string' && pkg.version !== '') info.version = pkg.version
      }
      if (hasCargo && (!info.name || !info.version)) {
        const cargo = await readCargoPackage(cargoFile)
        if (cargo.name || cargo.version) info.from.push(cargoFile)
        info.name ??= cargo.name
        info.version ??= cargo.version
      }
      return info
    }
    if (await lstat(join(dir, '.git')).catch(() => undefined)) break
    if (dirname(dir) === dir) break
  }
  return {root: start, from: []}
}

async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8')
  const parsed = parseJsonDocument(text, file)
  if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_PROJECT_INVALID',
      parsed.ok ? `${file} is not a JSON object` : parsed.problems[0]!.message,
      {hint: `Fix ${basename(file)}, or pass --name and --version.`, path: file},
    )
  }
  return parsed.value as Record<string, unknown>
}

async function readToml(file: string): Promise<Record<string, unknown>> {
  try {
    return parseToml(await readFile(file, 'utf8')) as Record<string, unknown>
  } catch (error) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_PROJECT_INVALID',
      `${file} is not valid TOML: ${(error as Error).message.split('\n')[0]}`,
      {hint: 'Fix Cargo.toml, or pass --name and --version.', path: file, cause: error},
    )
  }
}

/** `[package]` name and version; a `version.workspace = true` is looked up in the workspace root. */
async function readCargoPackage(file: string): Promise<{name?: string; version?: string}> {
  const pkg = (await readToml(file)).package as Record<string, unknown> | undefined
  if (!pkg || typeof pkg !== 'object') return {}
  const name = typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : undefined
  let version = typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : undefined
  const inherited = pkg.version as {workspace?: unknown} | undefined
  if (!version && inherited && typeof inherited === 'object' && inherited.workspace === true) {
    for (let dir = dirname(dirname(file)); ; dir = dirname(dir)) {
      if (await isFile(join(dir, 'Cargo.toml'))) {
        const workspace = (await readToml(join(dir, 'Cargo.toml'))).workspace as
          {package?: {version?: unknown}} | undefined
        if (workspace) {
          const v = workspace.package?.version
          if (typeof v === 'string' && v !== '') version = v
          break
        }
      }
      if (dirname(dir) === dir) break
    }
  }
  return {name, version}
}

/**
 * The manifest to write: the project's agentos-package.json (provides, agent and any other keys
 * kept) with name and version set from the package.
 */
export async function projectManifest(
  root: string,
  name: string,
  version: string,
  cwd: string,
  problems: Problem[],
): Promise<Record<string, unknown>> {
  const file = join(root, MANIFEST_FILE)
  const existing = (await isFile(file)) ? await readJsonObject(file) : {}
  const {$schema, name: oldName, version: _oldVersion, ...rest} = existing
  if (typeof oldName === 'string' && oldName !== name) {
    problems.push({
      code: 'WARN_AGENTOS_ASSEMBLE_MANIFEST_NAME',
      severity: 'warning',
      path: displayPath(file, cwd),
      message: `${displayPath(file, cwd)} names the package "${oldName}"; the assembled manifest uses "${name}"`,
      hint: 'The manifest name is the unscoped package name: pass --name to change it, or fix the manifest.',
    })
  }
  return {...($schema === undefined ? {} : {$schema}), name, version, ...rest}
}
