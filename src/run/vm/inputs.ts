import {mkdtemp, readFile, realpath, rm, stat, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {extname, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {isAgentosError} from '../../errors.js'
import {asRunError, runError} from '../errors.js'
import {ownerTag} from '../../util/owner.js'
import {loadRunPackage, type RunPackage} from './mount.js'

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'])

/**
 * Prefix of the temp dirs a software module's stand-in `defineSoftware` is written to; then
 * `<pid>.<start>-` (see ownerTag) and mkdtemp's six characters.
 */
export const SOFTWARE_DIR_PREFIX = 'agentos-software-'

/**
 * Turns the `run` arguments into packages, in order: a directory is a package; an `.aospkg` is the
 * package it holds, extracted once into the cache (aospkg-cache.ts); a .js/.mjs/.ts module is a
 * software file whose default export is `defineSoftware(...)` or an array of them (a
 * meta-package), flattened. The same directory given twice mounts once.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_SOFTWARE_INVALID`, `_SOFTWARE_LOAD_FAILED`, and the
 *   package errors of {@link loadRunPackage}.
 */
export async function loadInputs(inputs: readonly string[], baseDir = process.cwd()): Promise<RunPackage[]> {
  const dirs: string[] = []
  for (const input of inputs) {
    const path = resolve(baseDir, input)
    const info = await stat(path).catch(() => undefined)
    if (info?.isFile() && MODULE_EXTENSIONS.has(extname(path))) {
      // A descriptor's packagePath may name an .aospkg, as the runtime allows.
      for (const entry of await loadSoftwareModule(path)) {
        dirs.push(entry.endsWith('.aospkg') && (await isAospkg(entry)) ? await mountableAospkg(entry) : entry)
      }
    } else if (info?.isFile() && (await isAospkg(path))) dirs.push(await mountableAospkg(path))
    else dirs.push(path)
  }
  const seen = new Set<string>()
  const packages: RunPackage[] = []
  for (const dir of dirs) {
    const real = await realpath(dir).catch(() => dir)
    if (seen.has(real)) continue
    seen.add(real)
    try {
      packages.push(await loadRunPackage(dir))
    } catch (error) {
      throw asRunError(error)
    }
  }
  return packages
}

/**
 * The `run` arguments as the paths a runtime mounts, in order, without reading any package: a
 * software module flattened into its package directories, an `.aospkg` archive kept as the file
 * (the real runtime mounts archives itself), anything else as the directory it names. The same
 * path twice is kept once. Used by `run --engine agentos`.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_SOFTWARE_INVALID`, `_SOFTWARE_LOAD_FAILED`.
 */
export async function inputPackagePaths(
  inputs: readonly string[],
  baseDir = process.cwd(),
): Promise<string[]> {
  const paths: string[] = []
  for (const input of inputs) {
    const path = resolve(baseDir, input)
    const info = await stat(path).catch(() => undefined)
    if (info?.isFile() && MODULE_EXTENSIONS.has(extname(path)))
      paths.push(...(await loadSoftwareModule(path)))
    else paths.push(path)
  }
  const seen = new Set<string>()
  const unique: string[] = []
  for (const path of paths) {
    const real = await realpath(path).catch(() => path)
    if (seen.has(real)) continue
    seen.add(real)
    unique.push(path)
  }
  return unique
}

/**
 * The packages that export `defineSoftware`: a software file written for the real runtime imports
 * it from one of them, and should run here whether or not that package is installed next to it.
 */
const DEFINE_SOFTWARE_FROM = ['agentos-toolchain', '@rivet-dev/agentos', '@rivet-dev/agentos-core']

async function importSoftwareModule(file: string): Promise<unknown> {
  // Only names the module mentions: a text search is enough to decide whether to load it through jiti.
  const text = await readFile(file, 'utf8')
  const missing = DEFINE_SOFTWARE_FROM.filter(
    (name) => (text.includes(`'${name}'`) || text.includes(`"${name}"`)) && !resolvableFrom(file, name),
  )
  // The common case, every import resolvable (or a plain .js/.mjs file): the module as Node loads it.
  if (missing.length === 0 && !/\.[cm]?ts$/.test(file)) {
    return ((await import(pathToFileURL(file).href)) as {default?: unknown}).default
  }
  const {createJiti} = await import('jiti')
  if (missing.length === 0) {
    return createJiti(import.meta.url, {moduleCache: false}).import(file, {default: true})
  }
  // The names that do not resolve from the module are aliased to a stand-in whose defineSoftware
  // returns its argument: the export is checked by the real defineSoftware afterwards anyway. A
  // file, not a module of this CLI, so that it exists inside the single binary too.
  // The owner in the name: a SIGKILL here leaves a dir the next run's temp-dir sweep removes.
  const dir = await mkdtemp(join(tmpdir(), `${SOFTWARE_DIR_PREFIX}${ownerTag()}-`))
  try {
    const shim = join(dir, 'define-software.mjs')
    await writeFile(shim, 'export const defineSoftware = (entry) => entry\nexport default {defineSoftware}\n')
    const alias = Object.fromEntries(missing.map((name) => [name, shim]))
    return await createJiti(import.meta.url, {moduleCache: false, alias}).import(file, {default: true})
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

function resolvableFrom(file: string, name: string): boolean {
  try {
    createRequire(file).resolve(name)
    return true
  } catch {
    return false
  }
}

async function loadSoftwareModule(file: string): Promise<string[]> {
  let exported: unknown
  try {
    exported = await importSoftwareModule(file)
  } catch (error) {
    if (isAgentosError(error)) throw asRunError(error)
    throw runError(
      'ERR_AGENTOS_RUN_SOFTWARE_LOAD_FAILED',
      `cannot load ${file}: ${(error as Error).message}`,
      {
        hint: 'The module must import defineSoftware (from agentos-toolchain or @rivet-dev/agentos) and export default its result.',
        path: file,
        cause: error,
      },
    )
  }
  const {defineSoftware, flattenSoftware} = await import('../../software.js')
  if (exported === undefined || exported === null || typeof exported !== 'object') {
    throw runError(
      'ERR_AGENTOS_RUN_SOFTWARE_INVALID',
      `${file} has no default export of defineSoftware(...)`,
      {
        hint: 'export default defineSoftware({packagePath: resolve(import.meta.dirname, "my-tool-package")})',
        path: file,
      },
    )
  }
  try {
    // Re-checked here: a module may export a plain object without calling defineSoftware.
    const checked = Array.isArray(exported)
      ? defineSoftware(exported)
      : defineSoftware(exported as {packagePath: string})
    return flattenSoftware(checked).map((entry) => entry.packagePath)
  } catch (error) {
    throw asRunError(error)
  }
}

async function isAospkg(file: string): Promise<boolean> {
  const {isAospkgFile} = await import('../../archive/reader.js')
  return isAospkgFile(file)
}

async function mountableAospkg(file: string): Promise<string> {
  const {extractedAospkg} = await import('./aospkg-cache.js')
  try {
    return await extractedAospkg(file)
  } catch (error) {
    throw asRunError(error)
  }
}
