import {realpath, stat} from 'node:fs/promises'
import {extname, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {isAgentosError} from '../errors.js'
import {asRunError, runError} from './errors.js'
import {loadRunPackage, type RunPackage} from './package.js'

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'])

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
    if (info?.isFile() && MODULE_EXTENSIONS.has(extname(path))) dirs.push(...(await loadSoftwareModule(path)))
    else if (info?.isFile() && (await isAospkg(path))) dirs.push(await mountableAospkg(path))
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

async function loadSoftwareModule(file: string): Promise<string[]> {
  let exported: unknown
  try {
    if (/\.[cm]?ts$/.test(file)) {
      const {createJiti} = await import('jiti')
      exported = await createJiti(import.meta.url, {moduleCache: false}).import(file, {default: true})
    } else {
      const namespace = (await import(pathToFileURL(file).href)) as {default?: unknown}
      exported = namespace.default
    }
  } catch (error) {
    if (isAgentosError(error)) throw asRunError(error)
    throw runError(
      'ERR_AGENTOS_RUN_SOFTWARE_LOAD_FAILED',
      `cannot load ${file}: ${(error as Error).message}`,
      {
        hint: 'The module must import defineSoftware from agentos-toolchain and export default its result.',
        path: file,
        cause: error,
      },
    )
  }
  const {defineSoftware, flattenSoftware} = await import('../software.js')
  if (exported === undefined || exported === null || typeof exported !== 'object') {
    throw runError(
      'ERR_AGENTOS_RUN_SOFTWARE_INVALID',
      `${file} has no default export of defineSoftware(...)`,
      {
        hint: 'export default defineSoftware({packageDir: resolve(import.meta.dirname, "my-tool-package")})',
        path: file,
      },
    )
  }
  try {
    // Re-checked here: a module may export a plain object without calling defineSoftware.
    const checked = Array.isArray(exported)
      ? defineSoftware(exported)
      : defineSoftware(exported as {packageDir: string})
    return flattenSoftware(checked).map((entry) => entry.packageDir)
  } catch (error) {
    throw asRunError(error)
  }
}

async function isAospkg(file: string): Promise<boolean> {
  const {isAospkgFile} = await import('../aospkg/reader.js')
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
