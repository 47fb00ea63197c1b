import {constants, open, readdir, readFile, realpath, stat} from 'node:fs/promises'
import {join, relative} from 'node:path'
import type {Problem} from '../../errors.js'
import {normalizeBin} from '../../format/bin-map.js'
import {detectHeader, type HeaderInfo, readHead} from '../../format/header.js'
import {jsonEnvelopeProblem} from '../../format/json-limits.js'
import {checkManifest, providedSourcePath} from '../../format/manifest.js'
import {MANIFEST_FILE, symlinkResolvesInside} from '../../format/paths.js'
import {isWithin, linkOnDisk, specialKind} from '../../util/paths.js'
import {runError} from '../errors.js'

/** A command of a package as the VM projects it. */
export interface RunCommand {
  name: string
  /** Package-relative entry path (`node_modules/x/cli.js`). */
  entry: string
  /** Host path of the entry file. */
  hostPath: string
  /**
   * Header of the entry, `missing` when there is no such regular file inside the package. Read
   * on demand ({@link commandHeader}): resolution reads only the command that runs.
   */
  header?: HeaderInfo | {kind: 'missing'}
}

/** The agent block of a package, with defaults filled in. */
export interface RunAgent {
  acpEntrypoint: string
  env: Record<string, string>
  launchArgs: string[]
}

/** One `provides.files` entry. */
export interface RunProvidedFile {
  /** Package-relative source, normalized (`''` is the package root). */
  source: string
  /** Absolute VM target. */
  target: string
}

/** A package as `run` mounts it: what the runtime reads at VM configure time, and no more. */
export interface RunPackage {
  /** Package name: `/opt/agentos/pkgs/<name>/`. */
  name: string
  /** Manifest version: `/opt/agentos/pkgs/<name>/<version>/`. */
  version: string
  /** Real host path of the package directory. */
  dir: string
  commands: RunCommand[]
  agent?: RunAgent
  provides: {env: Record<string, string>; files: RunProvidedFile[]}
}

/**
 * Reads a package directory the way the runtime projects it: `package.json` `bin` (or `bin/`) and
 * `agentos-package.json` — never the whole tree (nor every command's header), so a 20,000-file
 * agent mounts as fast as a single WASM command. The manifest is held to the rules `validate`
 * applies ({@link checkManifest}), and refused with the code `validate` reports for its first error.
 *
 * Like runtime 0.2.21 it refuses a directory without `agentos-package.json`
 * (`ERR_AGENTOS_MANIFEST_MISSING`) or whose manifest has no `version`
 * (`ERR_AGENTOS_MANIFEST_VERSION_MISSING`): the package mounts at `/opt/agentos/pkgs/<name>/<version>`.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND`, `_NOT_DIRECTORY`, and the manifest and
 *   JSON codes of `validate` (`ERR_AGENTOS_MANIFEST_…`, `ERR_AGENTOS_PROVIDES_…`,
 *   `ERR_AGENTOS_AGENT_…`, `ERR_AGENTOS_JSON_…`), all with `run`'s exit code 125.
 */
export async function loadRunPackage(path: string): Promise<RunPackage> {
  const dir = await packageDir(path)
  const {pkg, manifest} = await readManifests(dir)
  await refuseUnsafeEntries(dir)
  const binDir = isObject(pkg) && pkg.bin !== undefined ? [] : await listBinDir(dir)
  const commands: RunCommand[] = normalizeBin(pkg ?? {}, binDir).commands.map(({name, entry}) => ({
    name,
    entry,
    hostPath: join(dir, entry),
  }))

  const result: RunPackage = {
    name: manifest.name,
    version: manifest.version!,
    dir,
    commands,
    provides: {
      env: manifest.provides?.env ?? {},
      files: (manifest.provides?.files ?? []).map((file) => ({
        source: providedSourcePath(file.source),
        target: file.target,
      })),
    },
  }
  const agent = manifest.agent
  if (agent) result.agent = agentOf(dir, agent, commands)
  return result
}

/**
 * Refuses a package holding a link that leaves it as resolved on disk (`hostroot -> /`, a chain
 * of `..` links): path-mapped guests would follow it on the host. Refuses a FIFO, socket or
 * device too: opening one as a command or a provided file blocks or reaches the host's device,
 * and reporting it as missing (it was) misleads. `validate`'s rules and codes, in the one walk
 * of the tree a run makes anyway.
 */
async function refuseUnsafeEntries(dir: string): Promise<void> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true})
  for (const entry of entries) {
    const special = specialKind(entry)
    if (special) {
      const path = relative(dir, join(entry.parentPath, entry.name))
      throw runError(
        'ERR_AGENTOS_SPECIAL_FILE',
        `${path} is a ${special} (a special file), which a package cannot hold`,
        {
          hint: 'Keep only regular files and directories in the package (`agentos-toolchain validate` lists what else it holds).',
          path: join(dir, path),
        },
      )
    }
    if (!entry.isSymbolicLink()) continue
    const path = relative(dir, join(entry.parentPath, entry.name))
    if (symlinkResolvesInside(path, (p) => linkOnDisk(join(dir, p)))) continue
    throw runError(
      'ERR_AGENTOS_SYMLINK',
      `${path} is a symlink → ${linkOnDisk(join(dir, path))} (pointing outside the package as resolved on disk)`,
      {
        hint: 'Replace the symlink with the real file (`agentos-toolchain validate` lists them): a guest must see only the VM.',
        path: join(dir, path),
      },
    )
  }
}

/** The real path of a package directory; refused when there is none or it is not a directory. */
async function packageDir(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  if (!info) {
    throw runError('ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND', `package ${path} does not exist`, {
      hint: 'Pass a package directory (the output of pack or assemble-wasm) or a software module (.mjs/.ts).',
      path,
    })
  }
  if (!info.isDirectory()) {
    throw runError('ERR_AGENTOS_RUN_PACKAGE_NOT_DIRECTORY', `package ${path} is not a directory`, {
      hint: /\.(tgz|tar)$/.test(path)
        ? 'run mounts package directories: extract the tarball first (tar -xzf), then pass the folder.'
        : 'Pass a package directory, or a .js/.mjs/.ts module that default-exports defineSoftware(...).',
      path,
    })
  }
  return realpath(path)
}

/** The manifest of a package, checked as the runtime and `validate` do. */
type CheckedManifest = NonNullable<ReturnType<typeof checkManifest>['manifest']>

/** `package.json` (when there is one) and the checked manifest, which must have a version. */
async function readManifests(dir: string): Promise<{pkg: unknown; manifest: CheckedManifest}> {
  const problems: Problem[] = []
  const pkgText = await readText(dir, 'package.json')
  const manifestText = await readText(dir, MANIFEST_FILE)
  const pkg = pkgText === undefined ? undefined : await parseJson(pkgText, 'package.json', problems)
  const value =
    manifestText === undefined ? undefined : await parseJson(manifestText, MANIFEST_FILE, problems)
  if (problems.length > 0) throw invalidPackage(dir, problems)

  // Runtime 0.2.21 refuses a package directory with neither agentos-package.json nor
  // package.aospkg, and a manifest without "version" (it is a path segment of the mount).
  if (manifestText === undefined) {
    throw invalidPackage(dir, [
      {
        code: 'ERR_AGENTOS_MANIFEST_MISSING',
        severity: 'error',
        path: MANIFEST_FILE,
        message: `${MANIFEST_FILE} is missing; the runtime refuses a package directory without it`,
        hint: 'Run `agentos-toolchain assemble-wasm --check <dir>` or `pack` to generate it, or write {"name": "<name>", "version": "1.0.0"}.',
      },
    ])
  }
  const check = checkManifest(value)
  const manifest = check.manifest
  if (!manifest) {
    throw invalidPackage(
      dir,
      check.problems.filter((p) => p.severity === 'error'),
    )
  }
  if (manifest.version === undefined) {
    throw invalidPackage(dir, [
      {
        code: 'ERR_AGENTOS_MANIFEST_VERSION_MISSING',
        severity: 'error',
        path: `${MANIFEST_FILE}#version`,
        message: `${MANIFEST_FILE} has no "version"; the runtime refuses it (the package mounts at /opt/agentos/pkgs/<name>/<version>)`,
        hint: 'Add "version": "1.0.0" (pack copies it from package.json).',
      },
    ])
  }
  return {pkg, manifest}
}

/** The agent block with its defaults; its `acpEntrypoint` must be one of the package's commands. */
function agentOf(
  dir: string,
  agent: NonNullable<CheckedManifest['agent']>,
  commands: RunCommand[],
): RunAgent {
  if (!commands.some((command) => command.name === agent.acpEntrypoint)) {
    throw invalidPackage(dir, [
      {
        code: 'ERR_AGENTOS_AGENT_ENTRYPOINT_UNKNOWN',
        severity: 'error',
        path: `${MANIFEST_FILE}#agent.acpEntrypoint`,
        message: `agent.acpEntrypoint "${agent.acpEntrypoint}" is not one of the package's commands (${
          commands.map((c) => c.name).join(', ') || 'none'
        })`,
        hint: 'Name a key of package.json "bin", or add the ACP command to "bin".',
      },
    ])
  }
  return {
    acpEntrypoint: agent.acpEntrypoint,
    env: agent.env ?? {},
    launchArgs: agent.launchArgs ?? [],
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function readText(dir: string, file: string): Promise<string | undefined> {
  return readFile(join(dir, file), 'utf8').catch(() => undefined)
}

/** Parses as validate does (format/json.ts): what JSON.parse forgives, the runtime may not. */
async function parseJson(text: string, file: string, problems: Problem[]): Promise<unknown> {
  const refused = jsonEnvelopeProblem(text, file)
  if (refused) {
    problems.push(refused)
    return undefined
  }
  try {
    return JSON.parse(text)
  } catch {
    // The precise line and column come from the shared strict parser, loaded only here.
    const {parseJsonDocument} = await import('../../format/json.js')
    const parsed = parseJsonDocument(text, file)
    problems.push(...parsed.problems.filter((p) => p.severity === 'error'))
    if (!problems.some((p) => p.path?.startsWith(file))) {
      problems.push({
        code: 'ERR_AGENTOS_JSON_SYNTAX',
        severity: 'error',
        path: file,
        message: `${file} is not JSON`,
        hint: 'Fix the JSON syntax (no comments, no trailing commas, double-quoted keys).',
      })
    }
    return undefined
  }
}

/** The refusal of a package: the first problem's code, as `validate` reports it, and all of them. */
function invalidPackage(dir: string, problems: Problem[]) {
  const first = problems[0]!
  return runError(
    first.code,
    `${dir} cannot be mounted: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    {
      hint: `${first.hint ? `${first.hint} ` : ''}\`agentos-toolchain validate ${dir}\` reports every problem.`,
      path: first.path ? join(dir, first.path.split('#')[0]!) : dir,
      details: {problems},
    },
  )
}

async function listBinDir(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'bin'), {withFileTypes: true}).catch(() => [])
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name)
}

/**
 * The header of a command's entry, read once: `missing` when the entry is not a regular file
 * inside the package (the mount shows only what is inside it, so an entry reached through a
 * symlink that leaves the package does not exist in the VM).
 */
export function commandHeader(pkg: RunPackage, command: RunCommand): Promise<HeaderInfo | {kind: 'missing'}> {
  let pending = headers.get(command)
  if (!pending) {
    pending = readHeader(pkg.dir, command.hostPath).then((header) => (command.header = header))
    headers.set(command, pending)
  }
  return pending
}

const headers = new WeakMap<RunCommand, Promise<HeaderInfo | {kind: 'missing'}>>()

async function readHeader(dir: string, hostPath: string): Promise<HeaderInfo | {kind: 'missing'}> {
  const missing = {kind: 'missing'} as const
  const real = await realpath(hostPath).catch(() => undefined)
  if (!real || !isWithin(dir, real)) return missing
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    // O_NONBLOCK: a FIFO as a command entry must not block the run in open(); not a file anyway.
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK)
    const info = await handle.stat()
    if (!info.isFile()) return missing
    return detectHeader(await readHead(handle, info.size))
  } catch {
    return missing
  } finally {
    await handle?.close()
  }
}
