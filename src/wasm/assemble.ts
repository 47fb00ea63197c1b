/**
 * `assemble-wasm`: turns compiler output (.wasm files) into a clean agentOS package directory, and
 * `--check` for a directory that already is one.
 *
 * Decisions worth knowing:
 * - Directories are read non-recursively: a Cargo target dir holds hashed duplicates under
 *   `deps/` and a wasi-sdk build dir holds CMake scratch, so recursing would pick up files that are
 *   not the commands. Point at the release dir, or pass a recursive glob (`build/**` + `/*.wasm`).
 * - Directories and globs contribute their `*.wasm` files; a file named explicitly is used
 *   whatever its name (it must still be WebAssembly).
 * - The project (package.json, Cargo.toml, agentos-package.json, and the base of `include`) is the
 *   nearest directory at or above `project` (default: the cwd) holding a package.json or a
 *   Cargo.toml; the walk stops at a repository root (a directory holding `.git`), so a stray
 *   package.json in a home directory is never picked up. At that directory package.json wins over
 *   Cargo.toml, field by field.
 */
import {createHash, randomBytes} from 'node:crypto'
import {lstat, readdir, readFile, realpath, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'
import fg from 'fast-glob'
import semver from 'semver'
import {parse as parseToml} from 'smol-toml'
import {compareBytes} from '../format/byte-order.js'
import {analyzePackage, sortProblems} from '../package/analyze.js'
import {
  archivePathFor,
  checkArchiveTarget,
  type OutputFormat,
  writeAospkg,
  type WrittenAospkg,
} from '../output/write-aospkg.js'
import {AgentosError, EXIT_USAGE, type Problem} from '../errors.js'
import {commandNameIssue, unscopedName} from '../format/bin-map.js'
import {parseJsonDocument, parseJsonLenient} from '../format/json.js'
import {isNpmPackageName} from '../format/npm-name.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {
  checkTarget,
  commitStaging,
  writeOutputMarker,
  createStaging,
  discardStaging,
  type OutputFile,
  outputError,
  packageJsonText,
  sortedMap,
  writePackageFiles,
} from '../output/output.js'
import {type PackageEntry, type PackageSnapshot, treeDigest} from '../package/snapshot.js'
import {readPackage} from '../package/read.js'
import {inspectWasmModule, type WasmFacts} from './module.js'

/** Default output directory, relative to the project directory (`project`, else the cwd). */
export const DEFAULT_WASM_OUT = 'dist/package'

/** Options of {@link assembleWasm}. */
export interface AssembleOptions {
  /** `.wasm` files, directories (their `*.wasm` files) or globs, relative to `cwd`. */
  inputs?: readonly string[]
  /**
   * Explicit command → module mappings: an object, or `name=path` strings as given to `--command`.
   * Several names may share one module (a multicall binary picks the applet from argv[0]).
   */
  commands?: Readonly<Record<string, string>> | readonly string[]
  /** npm package name (else discovered from package.json / Cargo.toml). */
  name?: string
  /** Package version (else discovered). */
  version?: string
  /** Output directory, relative to `cwd` (default `<project>/dist/package`). */
  out?: string
  /** Globs, relative to the project root, of extra files copied into the package. */
  include?: readonly string[]
  /** Replace a non-empty output directory that is not an earlier package output. */
  force?: boolean
  /** Directory the project metadata is searched from (default: `cwd`). */
  project?: string
  /** Base of relative paths (default: `process.cwd()`). */
  cwd?: string
  /**
   * `dir` (default): the package directory; `aospkg`: `<out>.aospkg` instead of it (an `out`
   * ending in `.aospkg` names the archive); `both`: the directory and `<out>.aospkg` beside it.
   */
  format?: OutputFormat
}

/** One command of an assembled (or checked) package. */
export interface AssembledCommand {
  name: string
  /** Package-relative entry (`bin/<name>`). */
  entry: string
  /** Where the module came from, as shown to the user. */
  source: string
  size: number
  sha256: string
  facts: WasmFacts
}

/** Counts of problems by severity. */
export interface ProblemSummary {
  errors: number
  warnings: number
  infos: number
}

/** Result of {@link assembleWasm}. `written` is false whenever `ok` is. */
export interface AssembleResult {
  ok: boolean
  written: boolean
  /** npm name written to package.json. */
  name: string
  version: string
  /** Absolute output directory (with format `aospkg`: the archive). */
  out: string
  format: OutputFormat
  /** The archive, with format `aospkg` or `both` (only when written). */
  aospkg?: Pick<WrittenAospkg, 'path' | 'sha256' | 'bytes'>
  /** `sha256:<hex>` tree digest of the package (only when written). */
  digest?: string
  /** The metadata files name and version were read from (absolute). */
  metadataFrom: string[]
  /** Absolute project directory (base of `include`). */
  project: string
  commands: AssembledCommand[]
  /** Package paths of the files copied with `include`. */
  included: string[]
  problems: Problem[]
  summary: ProblemSummary
  files: number
  bytes: number
}

interface Candidate {
  name: string
  /** Absolute path. */
  file: string
  display: string
}

/**
 * Assembles WebAssembly commands into a package directory: `package.json` (name, version, bin),
 * a generated `agentos-package.json` (merged with the project's), `bin/<command>` modules (0755)
 * and the `include`d files. Every module is checked first and the staged package must pass the
 * validator; otherwise nothing is written and the problems are returned with `ok: false`.
 *
 * @throws AgentosError for unusable inputs, missing name/version, include or output problems.
 */
export async function assembleWasm(options: AssembleOptions): Promise<AssembleResult> {
  const cwd = resolve(options.cwd ?? process.cwd())
  const projectDir = resolve(cwd, options.project ?? '.')
  const candidates = await collectCandidates(options, cwd)

  const project = await findProject(projectDir)
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

  const problems: Problem[] = []
  const manifest = await projectManifest(project.root, unscopedName(name), version, cwd, problems)
  const bin = Object.fromEntries(candidates.map((c) => [c.name, `bin/${c.name}`]))
  const generated = new Set(['package.json', MANIFEST_FILE, ...Object.values(bin)])
  const out = options.out === undefined ? join(projectDir, DEFAULT_WASM_OUT) : resolve(cwd, options.out)
  const included = await collectIncludes(options.include ?? [], project.root, out, generated)

  const format = options.format ?? 'dir'
  const archive = format === 'dir' ? undefined : archivePathFor(out, format)
  if (format !== 'aospkg') {
    await checkTarget(out, {
      force: options.force,
      sources: [project.root, ...candidates.map((c) => c.file)],
    })
  }
  if (archive) await checkArchiveTarget(archive, {force: options.force})

  // Each distinct module is read and checked once, however many commands share it.
  const modules = new Map<string, {bytes: Buffer; facts: WasmFacts}>()
  for (const candidate of candidates) {
    if (modules.has(candidate.file)) continue
    const bytes = await readFile(candidate.file).catch((error: NodeJS.ErrnoException) => {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INPUT_UNREADABLE',
        `cannot read ${candidate.display}: ${error.code ?? error.message}`,
        {hint: 'Make the file readable, or pass another input.', path: candidate.display, cause: error},
      )
    })
    const inspection = inspectWasmModule(bytes, candidate.display)
    problems.push(...inspection.problems)
    modules.set(candidate.file, {bytes, facts: inspection.facts})
  }
  const commands: AssembledCommand[] = candidates.map((c) => {
    const {facts} = modules.get(c.file)!
    return {
      name: c.name,
      entry: `bin/${c.name}`,
      source: c.display,
      size: facts.size,
      sha256: facts.sha256,
      facts,
    }
  })
  const result: AssembleResult = {
    ok: false,
    written: false,
    name,
    version,
    out: format === 'aospkg' ? archive! : out,
    format,
    metadataFrom: options.name !== undefined && options.version !== undefined ? [] : project.from,
    project: project.root,
    commands,
    included: included.map((file) => file.path),
    problems: [],
    summary: {errors: 0, warnings: 0, infos: 0},
    files: 0,
    bytes: 0,
  }
  if (problems.some((p) => p.severity === 'error')) return finishResult(result, problems)

  const files: OutputFile[] = [
    {
      path: 'package.json',
      source: Buffer.from(packageJsonText({name, version, bin: sortedMap(bin)})),
      executable: false,
    },
    {path: MANIFEST_FILE, source: Buffer.from(packageJsonText(manifest)), executable: false},
    ...candidates.map((c) => ({path: `bin/${c.name}`, source: modules.get(c.file)!.bytes, executable: true})),
    ...included,
  ]
  const createdParents = await missingAncestors(out)
  const staging = await createStaging(out)
  const discard = async () => {
    await discardStaging(staging)
    // createStaging made the missing parents (e.g. dist/); a failed run leaves none of them behind.
    for (const dir of createdParents) await rmdir(dir).catch(() => undefined)
  }
  try {
    const {snapshot} = await writePackageFiles(staging.dir, files).catch((error: NodeJS.ErrnoException) => {
      throw error.code ? outputError(error, out) : error
    })
    const analysis = analyzePackage(snapshot)
    problems.push(...analysis.problems)
    result.files = analysis.model.files
    result.bytes = analysis.model.bytes
    if (problems.some((p) => p.severity === 'error')) {
      await discard()
      return finishResult(result, problems)
    }
    if (archive) {
      const written = await writeAospkg(staging.dir, archive, {snapshot})
      result.aospkg = {path: written.path, sha256: written.sha256, bytes: written.bytes}
    }
    if (format === 'aospkg') {
      // The staged tree was only the archive's source; the parents it made now hold the archive.
      await discardStaging(staging)
    } else {
      await writeOutputMarker(staging.dir, snapshot.digest!)
      await commitStaging(staging).catch((error: NodeJS.ErrnoException) => {
        throw error.code ? outputError(error, out) : error
      })
    }
    result.digest = snapshot.digest
    result.written = true
    return finishResult(result, problems)
  } catch (error) {
    await discard()
    throw error
  }
}

/** The ancestors of `path` that do not exist yet, innermost first. */
async function missingAncestors(path: string): Promise<string[]> {
  const missing: string[] = []
  for (let dir = dirname(path); dirname(dir) !== dir; dir = dirname(dir)) {
    if (await lstat(dir).catch(() => undefined)) break
    missing.push(dir)
  }
  return missing
}

function finishResult<T extends {ok: boolean; problems: Problem[]; summary: ProblemSummary}>(
  result: T,
  problems: Problem[],
): T {
  result.problems = sortProblems(problems)
  result.summary = summarizeProblems(result.problems)
  result.ok = result.summary.errors === 0
  return result
}

function summarizeProblems(problems: readonly Problem[]): ProblemSummary {
  const count = (severity: Problem['severity']) => problems.filter((p) => p.severity === severity).length
  return {errors: count('error'), warnings: count('warning'), infos: count('info')}
}

/** A path as the user should see it: relative to the cwd when inside it, else absolute. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path)
  if (rel === '') return '.'
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

async function statOrUndefined(path: string) {
  return stat(path).catch(() => undefined)
}

/** Inputs and `--command` mappings → one candidate per command name, sorted by name. */
async function collectCandidates(options: AssembleOptions, cwd: string): Promise<Candidate[]> {
  const found: Candidate[] = []
  const fromFile = (file: string, name = basename(file).replace(/\.wasm$/, '')): Candidate => ({
    name,
    file,
    display: displayPath(file, cwd),
  })
  for (const input of options.inputs ?? []) {
    const absolute = resolve(cwd, input)
    const info = await statOrUndefined(absolute)
    if (info?.isFile()) {
      found.push(fromFile(absolute))
    } else if (info?.isDirectory()) {
      const names = (await readdir(absolute)).filter((n) => n.endsWith('.wasm')).sort(compareBytes)
      const files: string[] = []
      for (const n of names)
        if ((await statOrUndefined(join(absolute, n)))?.isFile()) files.push(join(absolute, n))
      if (files.length === 0) {
        throw new AgentosError(
          'ERR_AGENTOS_ASSEMBLE_NO_MATCH',
          `the directory ${input} holds no .wasm file`,
          {
            hint: `Directories are read non-recursively: pass the directory holding the modules (e.g. target/wasm32-wasip1/release) or a glob such as '${input.replace(/\/+$/, '')}/**/*.wasm'.`,
            path: input,
          },
        )
      }
      found.push(...files.map((file) => fromFile(file)))
    } else if (info) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INPUT_NOT_FILE',
        `${input} is neither a file nor a directory`,
        {
          hint: 'Pass .wasm files, directories holding them, or a glob.',
          path: input,
        },
      )
    } else if (fg.isDynamicPattern(input)) {
      const matches = (
        await fg(input, {cwd, absolute: true, onlyFiles: true, followSymbolicLinks: true, unique: true})
      )
        .filter((file) => file.endsWith('.wasm'))
        .sort(compareBytes)
      if (matches.length === 0) {
        throw new AgentosError(
          'ERR_AGENTOS_ASSEMBLE_NO_MATCH',
          `the pattern ${input} matches no .wasm file`,
          {
            hint: 'Check the pattern (relative to the current directory) and that the build ran.',
            path: input,
          },
        )
      }
      found.push(...matches.map((file) => fromFile(resolve(file))))
    } else {
      throw new AgentosError('ERR_AGENTOS_ASSEMBLE_INPUT_MISSING', `the input ${input} does not exist`, {
        hint: 'Build the module first, or fix the path.',
        path: input,
      })
    }
  }
  for (const [name, path] of commandMappings(options.commands)) {
    const absolute = resolve(cwd, path)
    const info = await statOrUndefined(absolute)
    if (!info) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INPUT_MISSING',
        `--command ${name}=${path}: ${path} does not exist`,
        {
          hint: 'Build the module first, or fix the path.',
          path,
        },
      )
    }
    if (!info.isFile()) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INPUT_NOT_FILE',
        `--command ${name}=${path}: ${path} is not a file`,
        {
          hint: 'Map the command to one .wasm file: --command name=path/to/module.wasm.',
          path,
        },
      )
    }
    found.push(fromFile(absolute, name))
  }
  if (found.length === 0) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_NO_INPUTS',
      'no inputs: pass .wasm files, directories or globs',
      {
        hint: 'e.g. assemble-wasm target/wasm32-wasip1/release/*.wasm, or --command name=path.',
        exitCode: EXIT_USAGE,
      },
    )
  }

  const byName = new Map<string, Candidate & {real: string}>()
  for (const candidate of found) {
    const real = await realpath(candidate.file)
    const issue = commandNameIssue(candidate.name)
    if (issue || candidate.name.startsWith('_') || candidate.name.startsWith('.')) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID',
        `command name ${JSON.stringify(candidate.name)} (from ${candidate.display}) ${
          issue ?? `starts with "${candidate.name[0]}", so it would never be linked as a command`
        }`,
        {
          hint: 'Rename the file, or name the command explicitly: --command my-tool=path.wasm.',
          path: candidate.display,
        },
      )
    }
    const earlier = byName.get(candidate.name)
    if (earlier) {
      if (earlier.real === real) continue
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND',
        `command "${candidate.name}" comes from both ${earlier.display} and ${candidate.display}`,
        {
          hint: 'Pass only one of them, or name them apart with --command name=path.',
          path: candidate.display,
        },
      )
    }
    byName.set(candidate.name, {...candidate, file: real, real})
  }
  return [...byName.values()]
    .map(({real: _real, ...candidate}) => candidate)
    .sort((a, b) => compareBytes(a.name, b.name))
}

/** `--command` values (`name=path` strings) or an object → [name, path] pairs; repeats are errors. */
function commandMappings(commands: AssembleOptions['commands']): Array<[string, string]> {
  if (!commands) return []
  if (!Array.isArray(commands)) return Object.entries(commands as Record<string, string>)
  const pairs: Array<[string, string]> = []
  const seen = new Map<string, string>()
  for (const value of commands as readonly string[]) {
    const at = value.indexOf('=')
    const name = at < 0 ? '' : value.slice(0, at)
    const path = at < 0 ? '' : value.slice(at + 1)
    if (name === '' || path === '') {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_COMMAND_FLAG',
        `--command ${JSON.stringify(value)} is not name=path`,
        {
          hint: 'Write --command my-tool=build/my-tool.wasm.',
          exitCode: EXIT_USAGE,
        },
      )
    }
    const earlier = seen.get(name)
    if (earlier !== undefined && earlier !== path) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND',
        `--command ${name} is given twice (${earlier} and ${path})`,
        {hint: 'Map each command name once.', exitCode: EXIT_USAGE},
      )
    }
    seen.set(name, path)
    pairs.push([name, path])
  }
  return pairs
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

interface ProjectInfo {
  /** The directory holding the metadata (else the start directory). */
  root: string
  name?: string
  version?: string
  /** Metadata files that were read. */
  from: string[]
}

async function isFile(path: string): Promise<boolean> {
  return (await statOrUndefined(path))?.isFile() ?? false
}

/** Walks up from `start` to the nearest directory holding package.json or Cargo.toml. */
async function findProject(start: string): Promise<ProjectInfo> {
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
async function projectManifest(
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

/** Files matched by the `include` globs, relative to the project root, as package files. */
async function collectIncludes(
  patterns: readonly string[],
  root: string,
  out: string,
  generated: ReadonlySet<string>,
): Promise<OutputFile[]> {
  const ignore = ['.git/**']
  const outRel = relative(root, out)
  if (outRel !== '' && !outRel.startsWith('..') && !isAbsolute(outRel)) {
    ignore.push(`${fg.escapePath(outRel.split(sep).join('/'))}/**`)
  }
  const paths = new Set<string>()
  for (const pattern of patterns) {
    if (isAbsolute(pattern) || pattern.split(/[/\\]/).includes('..')) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE',
        `--include ${pattern} reaches outside the project`,
        {
          hint: `Include globs are relative to the project directory (${root}) and stay inside it.`,
          path: pattern,
          exitCode: EXIT_USAGE,
        },
      )
    }
    const matches = await fg(pattern, {
      cwd: root,
      onlyFiles: true,
      followSymbolicLinks: true,
      unique: true,
      ignore,
    }).catch(async (error: NodeJS.ErrnoException) => {
      // Following a cycle ends in ELOOP; whether the walker meets it on a stat (which it skips as
      // a broken link) or on a readdir (which it throws) depends on timing: the same coded error
      // either way.
      if (error.code !== 'ELOOP' || !error.path) throw error
      const cycle = await symlinkCycle(root, relative(root, error.path)).catch(() => undefined)
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_LOOP',
        `--include ${pattern} goes through the symlink cycle ${cycle ?? relative(root, error.path)}`,
        {
          hint: 'Remove the link that points back at its own parent, or narrow the --include pattern.',
          path: pattern,
          cause: error,
        },
      )
    })
    if (matches.length === 0) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_NO_MATCH',
        `--include ${pattern} matches no file`,
        {
          hint: `Include globs are relative to the project directory (${root}); check the pattern.`,
          path: pattern,
        },
      )
    }
    for (const match of matches) paths.add(match)
  }
  const files: OutputFile[] = []
  const realRoot = await realpath(root)
  for (const path of [...paths].sort(compareBytes)) {
    if (generated.has(path)) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_CONFLICT',
        `--include would copy ${path}, which assemble-wasm writes itself`,
        {
          hint: 'Narrow the --include pattern; package.json, agentos-package.json and bin/<command> are generated.',
          path,
        },
      )
    }
    // The globs follow symlinks: a link in the project must not pull host files into the package.
    const real = await realpath(join(root, path))
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_OUTSIDE',
        `--include would copy ${path}, which links outside the project (→ ${real})`,
        {
          hint: 'Replace the link with the file itself, or narrow the --include pattern to leave it out.',
          path,
        },
      )
    }
    const cycle = await symlinkCycle(root, path)
    if (cycle) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_LOOP',
        `--include would copy ${path}, which goes through the symlink cycle ${cycle}`,
        {hint: 'Remove the link that points back at its own parent, or narrow the --include pattern.', path},
      )
    }
    const info = await stat(join(root, path))
    files.push({path, source: join(root, path), executable: (info.mode & 0o111) !== 0})
  }
  return files
}

/**
 * The first directory link on `path` (relative to `root`) that points at its own directory or an
 * ancestor: the globs follow it round and round until the kernel's ELOOP, copying the same files
 * under ever deeper paths.
 */
async function symlinkCycle(root: string, path: string): Promise<string | undefined> {
  const parts = path.split('/')
  for (let i = 1; i < parts.length; i++) {
    const link = parts.slice(0, i).join('/')
    if (!(await lstat(join(root, link))).isSymbolicLink()) continue
    const target = await realpath(join(root, link))
    const parent = await realpath(join(root, ...parts.slice(0, i - 1)))
    if (parent === target || parent.startsWith(target + sep)) return link
  }
  return undefined
}

/** What `--check` did with the manifest. */
export type ManifestAction = 'created' | 'present' | 'not-written'

/** Result of {@link checkWasmPackage}. */
export interface CheckResult {
  ok: boolean
  /** Absolute package directory. */
  dir: string
  manifest: ManifestAction
  /** Package-relative paths written (only the manifest, when created). */
  wrote: string[]
  digest?: string
  commands: AssembledCommand[]
  problems: Problem[]
  summary: ProblemSummary
}

/** Options of {@link checkWasmPackage}. */
export interface CheckOptions {
  /** Base of a relative `dir` (default: `process.cwd()`). */
  cwd?: string
}

// The module check reports these with its own codes; the validator's copies would repeat them.
const COVERED_BY_MODULE_CHECK = new Set(['ERR_AGENTOS_BIN_WASM_COMPONENT', 'ERR_AGENTOS_BIN_WASM_VERSION'])

/**
 * Checks a directory that already is a WASM package (`package.json` + `bin/`): every WebAssembly
 * command gets the module checks and the whole package the validator. When everything passes and
 * `agentos-package.json` is missing, writes it (name and version from package.json), atomically;
 * nothing else is ever changed.
 *
 * @throws AgentosError when the directory is missing or is not a package output.
 */
export async function checkWasmPackage(dir: string, options: CheckOptions = {}): Promise<CheckResult> {
  const cwd = resolve(options.cwd ?? process.cwd())
  const absolute = resolve(cwd, dir)
  const info = await statOrUndefined(absolute)
  if (!info?.isDirectory()) {
    throw new AgentosError(
      info ? 'ERR_AGENTOS_ASSEMBLE_CHECK_NOT_PACKAGE' : 'ERR_AGENTOS_TARGET_NOT_FOUND',
      info ? `${dir} is not a directory` : `${dir} does not exist`,
      {hint: 'Pass the package directory holding package.json and bin/.', path: dir},
    )
  }
  const hasBin = (await lstat(join(absolute, 'bin')).catch(() => undefined))?.isDirectory() ?? false
  if (!(await isFile(join(absolute, 'package.json'))) || !hasBin) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_CHECK_NOT_PACKAGE',
      `${dir} is not a WASM package: it needs package.json and a bin/ directory`,
      {hint: 'Assemble one from the .wasm files instead: assemble-wasm <inputs…> --out <dir>.', path: dir},
    )
  }

  const snapshot = await readPackage(absolute, {digest: true})
  const first = analyzePackage(snapshot)
  const moduleProblems: Problem[] = []
  const commands: AssembledCommand[] = []
  const checked = new Set<string>()
  for (const command of first.model.commands) {
    if (command.kind !== 'wasm') continue
    const bytes = await readFile(join(absolute, command.entry))
    const inspection = inspectWasmModule(bytes, command.entry)
    if (!checked.has(command.entry)) moduleProblems.push(...inspection.problems)
    checked.add(command.entry)
    const {facts} = inspection
    commands.push({
      name: command.name,
      entry: command.entry,
      source: command.entry,
      size: facts.size,
      sha256: facts.sha256,
      facts,
    })
  }
  const keep = (problems: readonly Problem[]) => problems.filter((p) => !COVERED_BY_MODULE_CHECK.has(p.code))

  const result: CheckResult = {
    ok: false,
    dir: absolute,
    manifest: 'present',
    wrote: [],
    commands,
    problems: [],
    summary: {errors: 0, warnings: 0, infos: 0},
  }
  if (snapshot.texts.has(MANIFEST_FILE)) {
    result.digest = snapshot.digest
    return finishResult(result, [...moduleProblems, ...keep(first.problems)])
  }

  // Judge the package as it will be with the manifest, before writing it.
  // A broken package.json is already a validator problem; it just means no manifest can be made.
  const pkg = parseJsonLenient(snapshot.texts.get('package.json') ?? 'null') as
    Record<string, unknown> | null | undefined
  const npmName = typeof pkg?.name === 'string' ? pkg.name : undefined
  const text =
    npmName === undefined
      ? undefined
      : packageJsonText(
          typeof pkg?.version === 'string'
            ? {name: unscopedName(npmName), version: pkg.version}
            : {name: unscopedName(npmName)},
        )
  result.manifest = 'not-written'
  if (text === undefined) return finishResult(result, [...moduleProblems, ...keep(first.problems)])
  const planned = withFile(snapshot, MANIFEST_FILE, text)
  const second = analyzePackage(planned)
  const problems = [...moduleProblems, ...keep(second.problems)]
  if (problems.some((p) => p.severity === 'error')) {
    return finishResult(result, [...moduleProblems, ...keep(first.problems)])
  }
  await writeAtomically(join(absolute, MANIFEST_FILE), text)
  result.manifest = 'created'
  result.wrote = [MANIFEST_FILE]
  result.digest = planned.digest
  return finishResult(result, problems)
}

/** A copy of a snapshot with one more small text file, as it will be once written. */
function withFile(snapshot: PackageSnapshot, path: string, text: string): PackageSnapshot {
  const bytes = Buffer.from(text)
  const entry: PackageEntry = {
    path,
    kind: 'file',
    mode: 0o644,
    size: bytes.length,
    head: bytes.subarray(0, 256),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }
  const entries = [...snapshot.entries.filter((e) => e.path !== path), entry].sort((a, b) =>
    compareBytes(a.path, b.path),
  )
  const texts = new Map(snapshot.texts)
  texts.set(path, text)
  return {
    ...snapshot,
    entries,
    byPath: new Map(entries.map((e) => [e.path, e])),
    texts,
    digest: entries.every((e) => e.kind !== 'file' || e.sha256)
      ? treeDigest(entries, texts.get(MANIFEST_FILE))
      : undefined,
  }
}

/** Writes a new file through a temp sibling and a rename, so readers never see half of it. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = join(
    dirname(file),
    `.${basename(file)}.agentos-tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  )
  try {
    await writeFile(temp, text, {mode: 0o644, flag: 'wx'})
    await rename(temp, file)
  } catch (error) {
    await rm(temp, {force: true})
    throw (error as NodeJS.ErrnoException).code ? outputError(error as NodeJS.ErrnoException, file) : error
  }
}
