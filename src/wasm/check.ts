/**
 * `assemble-wasm --check`: judges a directory that already is a WASM package, and writes its
 * missing `agentos-package.json` when that is all it lacks.
 */
import {createHash} from 'node:crypto'
import {lstat, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {AgentosError, type Problem} from '../errors.js'
import {unscopedName} from '../format/bin-map.js'
import {compareBytes} from '../format/byte-order.js'
import {parseJsonLenient} from '../format/json.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {outputError} from '../output/errors.js'
import {packageJsonText} from '../output/json-text.js'
import {tempFileSibling} from '../output/siblings.js'
import {analyzePackage} from '../package/analyze.js'
import type {PackageModel} from '../package/model.js'
import {readPackage} from '../package/read.js'
import {type PackageEntry, type PackageSnapshot, treeDigest} from '../package/snapshot.js'
import {inspectWasmModule} from './module.js'
import {isFile, statOrUndefined} from './paths.js'
import {finishResult} from './result.js'
import type {AssembledCommand, CheckOptions, CheckResult} from './types.js'

// The validator reports these defects of a command's module itself (ERR_AGENTOS_BIN_WASM_COMPONENT,
// …_VERSION); the module check's copies would repeat them under other codes, and a package has
// one verdict whichever command judges it (test/commands/one-verdict.test.ts).
const COVERED_BY_VALIDATOR = new Set(['ERR_AGENTOS_WASM_COMPONENT', 'ERR_AGENTOS_WASM_VERSION'])

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
  await checkPackageDir(dir, absolute)

  const snapshot = await readPackage(absolute, {digest: true})
  const first = analyzePackage(snapshot)
  const {commands, moduleProblems} = await checkModules(absolute, first.model)

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
    return finishResult(result, [...moduleProblems, ...first.problems])
  }

  // Judge the package as it will be with the manifest, before writing it.
  const text = generatedManifest(snapshot)
  result.manifest = 'not-written'
  if (text === undefined) return finishResult(result, [...moduleProblems, ...first.problems])
  const planned = withFile(snapshot, MANIFEST_FILE, text)
  const second = analyzePackage(planned)
  const problems = [...moduleProblems, ...second.problems]
  if (problems.some((p) => p.severity === 'error')) {
    return finishResult(result, [...moduleProblems, ...first.problems])
  }
  await writeAtomically(join(absolute, MANIFEST_FILE), text)
  result.manifest = 'created'
  result.wrote = [MANIFEST_FILE]
  result.digest = planned.digest
  return finishResult(result, problems)
}

/** @throws AgentosError unless `absolute` is a directory holding package.json and bin/. */
async function checkPackageDir(dir: string, absolute: string): Promise<void> {
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
}

/** The module checks of every WebAssembly command; a module shared by several is reported once. */
async function checkModules(
  absolute: string,
  model: PackageModel,
): Promise<{commands: AssembledCommand[]; moduleProblems: Problem[]}> {
  const moduleProblems: Problem[] = []
  const commands: AssembledCommand[] = []
  const checked = new Set<string>()
  for (const command of model.commands) {
    if (command.kind !== 'wasm') continue
    const bytes = await readFile(join(absolute, command.entry))
    const inspection = inspectWasmModule(bytes, command.entry)
    if (!checked.has(command.entry))
      moduleProblems.push(...inspection.problems.filter((p) => !COVERED_BY_VALIDATOR.has(p.code)))
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
  return {commands, moduleProblems}
}

/** The manifest text to write (name and version from package.json); none without a name. */
function generatedManifest(snapshot: PackageSnapshot): string | undefined {
  // A broken package.json is already a validator problem; it just means no manifest can be made.
  const pkg = parseJsonLenient(snapshot.texts.get('package.json') ?? 'null') as
    Record<string, unknown> | null | undefined
  const npmName = typeof pkg?.name === 'string' ? pkg.name : undefined
  return npmName === undefined
    ? undefined
    : packageJsonText(
        typeof pkg?.version === 'string'
          ? {name: unscopedName(npmName), version: pkg.version}
          : {name: unscopedName(npmName)},
      )
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
  const temp = await tempFileSibling(file)
  try {
    await writeFile(temp, text, {mode: 0o644, flag: 'wx'})
    await rename(temp, file)
  } catch (error) {
    await rm(temp, {force: true})
    throw (error as NodeJS.ErrnoException).code ? outputError(error as NodeJS.ErrnoException, file) : error
  }
}
