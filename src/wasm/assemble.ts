/**
 * `assemble-wasm`: turns compiler output (.wasm files) into a clean agentOS package directory
 * (`--check` for a directory that already is one is `check.ts`). The steps: the inputs become
 * commands (`inputs.ts`), the project gives name, version and manifest (`project.ts`), `--include`
 * adds files (`includes.ts`), every module is checked (`module.ts`), and the staged package must
 * pass the validator before it is committed.
 */
import {lstat, readFile, rmdir} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {AgentosError, type Problem} from '../errors.js'
import {unscopedName} from '../format/bin-map.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {outputError} from '../output/errors.js'
import {type OutputFile, writePackageFiles} from '../output/files.js'
import {packageJsonText, sortedMap} from '../output/json-text.js'
import {writeOutputMarker} from '../output/marker.js'
import {commitStaging, createStaging, discardStaging} from '../output/staging.js'
import {checkTarget} from '../output/target.js'
import {archivePathFor, checkArchiveTarget, writeAospkg} from '../output/write-aospkg.js'
import {analyzePackage} from '../package/analyze.js'
import {collectIncludes} from './includes.js'
import {collectCandidates} from './inputs.js'
import {inspectWasmModule, type WasmFacts} from './module.js'
import {findProject, packageIdentity, projectManifest} from './project.js'
import {finishResult} from './result.js'
import type {AssembledCommand, AssembleOptions, AssembleResult, Candidate} from './types.js'

/** Default output directory, relative to the project directory (`project`, else the cwd). */
export const DEFAULT_WASM_OUT = 'dist/package'

/** A module's bytes and what the module check found, by absolute path. */
type Modules = Map<string, {bytes: Buffer; facts: WasmFacts}>

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
  const {name, version} = packageIdentity(options, project, projectDir, cwd)

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

  const modules = await checkModules(candidates, problems)
  const result: AssembleResult = {
    ok: false,
    written: false,
    name,
    version,
    out: format === 'aospkg' ? archive! : out,
    format,
    metadataFrom: options.name !== undefined && options.version !== undefined ? [] : project.from,
    project: project.root,
    commands: assembledCommands(candidates, modules),
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
  return writePackage(files, {out, archive, format}, result, problems)
}

/** Reads and checks each distinct module once, however many commands share it. */
async function checkModules(candidates: readonly Candidate[], problems: Problem[]): Promise<Modules> {
  const modules: Modules = new Map()
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
  return modules
}

function assembledCommands(candidates: readonly Candidate[], modules: Modules): AssembledCommand[] {
  return candidates.map((c) => {
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
}

/**
 * Stages the package files, validates the staged tree, and only then commits the directory and/or
 * writes the archive; a failed run leaves nothing behind.
 */
async function writePackage(
  files: OutputFile[],
  target: {out: string; archive: string | undefined; format: AssembleResult['format']},
  result: AssembleResult,
  problems: Problem[],
): Promise<AssembleResult> {
  const {out, archive, format} = target
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
