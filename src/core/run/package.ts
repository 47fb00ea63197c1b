import {open, readdir, readFile, realpath, stat} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'
import type {Problem} from '../errors.js'
import {normalizeBin, unscopedName} from '../format/bin-map.js'
import {detectHeader, HEADER_BYTES, type HeaderInfo, PE_PROBE_BYTES} from '../format/header.js'
import {checkVmPath, isPosixEnvName, isSafeSegment, normalizePackagePath} from '../format/paths.js'
import {runError} from './errors.js'

/**
 * The manifest file name. Equal to `MANIFEST_FILE` of format/manifest.ts (a unit test pins it):
 * importing that module loads TypeBox, which alone costs more than a whole WASM command run, so
 * `run` only loads it on the error path to explain what is wrong.
 */
export const RUN_MANIFEST_FILE = 'agentos-package.json'

/** Names under /opt/agentos that a package cannot take (the runtime's own directories). */
const RESERVED = new Set(['bin', 'share', 'pkgs'])

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
  /** Mount name: `/opt/agentos/<name>`. */
  name: string
  version?: string
  /** Real host path of the package directory. */
  dir: string
  commands: RunCommand[]
  agent?: RunAgent
  provides: {env: Record<string, string>; files: RunProvidedFile[]}
}

/**
 * Reads a package directory the way the runtime projects it: `package.json` `bin` (or `bin/`) and
 * `agentos-package.json` — never the whole tree (nor every command's header), so a 20,000-file
 * agent mounts as fast as a single WASM command.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND`, `_NOT_DIRECTORY`, `_INVALID`.
 */
export async function loadRunPackage(path: string): Promise<RunPackage> {
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
  const dir = await realpath(path)
  const problems: Problem[] = []
  const pkg = await readJson(dir, 'package.json', problems)
  const manifest = await readJson(dir, RUN_MANIFEST_FILE, problems)
  if (manifest === undefined && pkg === undefined && problems.length === 0) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_MISSING',
      severity: 'error',
      path: RUN_MANIFEST_FILE,
      message: `neither package.json nor ${RUN_MANIFEST_FILE} is in ${dir}`,
    })
  }

  const raw = isObject(manifest) ? manifest : {}
  const npmName = isObject(pkg) && typeof pkg.name === 'string' ? pkg.name : undefined
  const name = typeof raw.name === 'string' ? raw.name : npmName ? unscopedName(npmName) : undefined
  if (name === undefined) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_NAME_INVALID',
      severity: 'error',
      path: `${RUN_MANIFEST_FILE}#name`,
      message: 'the package has no name to mount it under /opt/agentos/<name>',
    })
  } else if (!isSafeSegment(name) || name.startsWith('.') || RESERVED.has(name)) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE',
      severity: 'error',
      path: `${RUN_MANIFEST_FILE}#name`,
      message: `package name ${JSON.stringify(name)} cannot be mounted at /opt/agentos/<name>`,
    })
  }
  const agent = readAgent(raw.agent, problems)
  const provides = readProvides(raw.provides, problems)
  if (problems.length > 0) {
    // The shared schema check words manifest problems best; it is only worth its load time here.
    const precise = manifest === undefined ? [] : await schemaProblems(manifest)
    const others = problems.filter((p) => precise.length === 0 || !p.path?.startsWith(RUN_MANIFEST_FILE))
    throw invalidPackage(dir, [...precise, ...others])
  }

  const binDir = isObject(pkg) && pkg.bin !== undefined ? [] : await listBinDir(dir)
  const commands: RunCommand[] = normalizeBin(pkg ?? {}, binDir).commands.map(({name, entry}) => ({
    name,
    entry,
    hostPath: join(dir, entry),
  }))

  const version = isObject(pkg) && typeof pkg.version === 'string' ? pkg.version : undefined
  const result: RunPackage = {
    name: name!,
    version: version ?? (typeof raw.version === 'string' ? raw.version : undefined),
    dir,
    commands,
    provides,
  }
  if (agent) {
    if (!commands.some((command) => command.name === agent.acpEntrypoint)) {
      throw invalidPackage(dir, [
        {
          code: 'ERR_AGENTOS_AGENT_ENTRYPOINT_UNKNOWN',
          severity: 'error',
          path: `${RUN_MANIFEST_FILE}#agent.acpEntrypoint`,
          message: `agent.acpEntrypoint "${agent.acpEntrypoint}" is not one of the package's commands (${
            commands.map((c) => c.name).join(', ') || 'none'
          })`,
        },
      ])
    }
    result.agent = agent
  }
  return result
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function readJson(dir: string, file: string, problems: Problem[]): Promise<unknown> {
  let text: string
  try {
    text = await readFile(join(dir, file), 'utf8')
  } catch {
    return undefined
  }
  try {
    return JSON.parse(text)
  } catch {
    // The precise line and column come from the shared strict parser, loaded only here.
    const {parseJsonDocument} = await import('../format/json.js')
    const parsed = parseJsonDocument(text, file)
    problems.push(...parsed.problems.filter((p) => p.severity === 'error'))
    if (!problems.some((p) => p.path?.startsWith(file))) {
      problems.push({
        code: 'ERR_AGENTOS_JSON_SYNTAX',
        severity: 'error',
        path: file,
        message: `${file} is not JSON`,
      })
    }
    return undefined
  }
}

function stringMap(
  value: unknown,
  field: string,
  envNames: boolean,
  problems: Problem[],
): Record<string, string> {
  if (value === undefined) return {}
  const out: Record<string, string> = {}
  if (!isObject(value)) {
    problems.push({
      code: 'ERR_AGENTOS_RUN_FIELD_TYPE',
      severity: 'error',
      path: `${RUN_MANIFEST_FILE}#${field}`,
      message: `${field} must be an object of strings`,
    })
    return out
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' || (envNames && !isPosixEnvName(key))) {
      problems.push({
        code: 'ERR_AGENTOS_RUN_FIELD_TYPE',
        severity: 'error',
        path: `${RUN_MANIFEST_FILE}#${field}.${key}`,
        message:
          typeof item !== 'string'
            ? `${field}.${key} must be a string`
            : `${field} key ${JSON.stringify(key)} is not a POSIX environment variable name`,
      })
      continue
    }
    out[key] = item
  }
  return out
}

function readAgent(value: unknown, problems: Problem[]): RunAgent | undefined {
  if (value === undefined) return undefined
  const agent = isObject(value) ? value : {}
  const entry = agent.acpEntrypoint
  const launchArgs = agent.launchArgs ?? []
  if (typeof entry !== 'string' || entry === '' || !Array.isArray(launchArgs)) {
    problems.push({
      code: 'ERR_AGENTOS_RUN_FIELD_TYPE',
      severity: 'error',
      path: `${RUN_MANIFEST_FILE}#agent`,
      message: 'agent needs a non-empty "acpEntrypoint" and, if given, "launchArgs" as an array of strings',
    })
    return undefined
  }
  return {
    acpEntrypoint: entry,
    env: stringMap(agent.env, 'agent.env', true, problems),
    launchArgs: launchArgs.map(String),
  }
}

function readProvides(value: unknown, problems: Problem[]): RunPackage['provides'] {
  const provides = isObject(value) ? value : {}
  const env = stringMap(provides.env, 'provides.env', true, problems)
  const files: RunProvidedFile[] = []
  const list = provides.files ?? []
  if (!Array.isArray(list)) {
    problems.push({
      code: 'ERR_AGENTOS_RUN_FIELD_TYPE',
      severity: 'error',
      path: `${RUN_MANIFEST_FILE}#provides.files`,
      message: 'provides.files must be an array of {source, target}',
    })
    return {env, files}
  }
  list.forEach((item: unknown, index) => {
    const field = `${RUN_MANIFEST_FILE}#provides.files[${index}]`
    const entry = isObject(item) ? item : {}
    const source = typeof entry.source === 'string' ? entry.source.replace(/^\.\/?/, '') : undefined
    const normalized =
      source === undefined ? undefined : source === '' ? {path: ''} : normalizePackagePath(source)
    const target = entry.target
    if (!normalized || 'issue' in normalized || typeof target !== 'string' || checkVmPath(target) !== null) {
      problems.push({
        code: 'ERR_AGENTOS_RUN_PROVIDES_INVALID',
        severity: 'error',
        path: field,
        message: `provides.files[${index}] needs a source inside the package and an absolute, normalized target`,
      })
      return
    }
    files.push({source: normalized.path, target})
  })
  return {env, files}
}

async function schemaProblems(manifest: unknown): Promise<Problem[]> {
  const {checkManifest} = await import('../format/manifest.js')
  return checkManifest(manifest).problems.filter((p) => p.severity === 'error')
}

function invalidPackage(dir: string, problems: Problem[]) {
  const first = problems[0]!
  return runError(
    'ERR_AGENTOS_RUN_PACKAGE_INVALID',
    `${dir} cannot be mounted: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    {
      hint: `Run \`agentos-toolchain validate ${dir}\` for the full report.`,
      path: first.path ? join(dir, first.path.split('#')[0]!) : dir,
      details: {problems},
    },
  )
}

async function listBinDir(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'bin'), {withFileTypes: true}).catch(() => [])
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name)
}

/** True when `child` is `parent` or lies inside it (both real paths). */
export function isInsideDir(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep))
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
  if (!real || !isInsideDir(dir, real)) return missing
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    handle = await open(real, 'r')
    const info = await handle.stat()
    if (!info.isFile()) return missing
    const buffer = Buffer.alloc(Math.min(info.size, PE_PROBE_BYTES))
    const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
    let head = buffer.subarray(0, bytesRead)
    if (!(head[0] === 0x4d && head[1] === 0x5a)) head = head.subarray(0, HEADER_BYTES)
    return detectHeader(head)
  } catch {
    return missing
  } finally {
    await handle?.close()
  }
}
