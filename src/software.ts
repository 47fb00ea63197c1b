import {existsSync, statSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import {AgentosError} from './errors.js'
import {MANIFEST_FILE} from './format/paths.js'

/**
 * A software entry: a pointer to a self-contained package. It carries the path under both names the
 * runtime generations read: `packagePath` (agentOS 0.2.x: a package directory or an `.aospkg`
 * file) and `packageDir` (the earlier, directory-only generation), so one software file serves both.
 */
export interface SoftwareDescriptor {
  /** Absolute host path of the package directory, or of an `.aospkg` archive. */
  readonly packagePath: string
  /** The same path, as the earlier runtime generation names it. */
  readonly packageDir: string
}

/** What {@link defineSoftware} takes for one package: either name, the same meaning. */
export type SoftwareRef = {readonly packagePath: string} | {readonly packageDir: string}

/** A software entry or a meta-package: a (possibly nested) array of entries. */
export type Software = SoftwareDescriptor | SoftwareRef | readonly Software[]

/** Options of {@link defineSoftware}. */
export interface DefineSoftwareOptions {
  /** Refuse a directory that looks like a source root instead of warning about it. */
  readonly strict?: boolean
}

/**
 * Declares a software package for an agentOS VM. `packagePath` (or `packageDir`) must be an
 * absolute path to a package — the output of `pack` or `assemble-wasm`, or an `.aospkg` — never a
 * source root: a directory the runtime would refuse (no `agentos-package.json` nor
 * `package.aospkg`), or one holding `src/`, `tsconfig.json` or `.git`, gets a process warning
 * (`WARN_AGENTOS_SOFTWARE_SOURCE_ROOT`), or with `strict` the error. An array declares a
 * meta-package.
 *
 * @throws AgentosError `ERR_AGENTOS_SOFTWARE_INVALID` / `_DIR_RELATIVE` / `_DIR_NOT_FOUND` /
 *   `_NOT_PACKAGE` / `_SOURCE_ROOT`.
 */
export function defineSoftware(entry: SoftwareRef, options?: DefineSoftwareOptions): SoftwareDescriptor
export function defineSoftware(
  entries: readonly Software[],
  options?: DefineSoftwareOptions,
): readonly Software[]
export function defineSoftware(
  entry: SoftwareRef | readonly Software[],
  options: DefineSoftwareOptions = {},
): Software {
  if (Array.isArray(entry)) {
    return Object.freeze(entry.map((child: Software) => checkEntry(child, options)))
  }
  return checkEntry(entry as SoftwareRef, options)
}

function checkEntry(entry: Software, options: DefineSoftwareOptions): Software {
  if (Array.isArray(entry)) return defineSoftware(entry as readonly Software[], options)
  const path = refPath(entry as SoftwareRef)
  if (!isAbsolute(path)) {
    throw new AgentosError('ERR_AGENTOS_SOFTWARE_DIR_RELATIVE', `package path "${path}" is not absolute`, {
      hint: 'Resolve it first: resolve(dirname(fileURLToPath(import.meta.url)), "my-tool-package").',
      path,
    })
  }
  const info = existsSync(path) ? statSync(path) : undefined
  if (info?.isFile() && path.endsWith('.aospkg')) return descriptor(path)
  if (!info?.isDirectory()) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_DIR_NOT_FOUND',
      `package path ${path} is neither a directory nor an .aospkg file`,
      {hint: 'Build the package first (`agentos-toolchain pack` or `assemble-wasm`).', path},
    )
  }
  const has = (name: string) => existsSync(join(path, name))
  if (!has('package.json') && !has(MANIFEST_FILE) && !has('package.aospkg')) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_NOT_PACKAGE',
      `package path ${path} has neither ${MANIFEST_FILE}, package.aospkg nor package.json`,
      {hint: 'Point packagePath at a package, such as the output of pack.', path},
    )
  }
  const smell = sourceRootSmell(path, has)
  if (smell) {
    const message = `package path ${path} looks like a source root, not a package: ${smell}`
    const hint = 'Point packagePath at the output of `agentos-toolchain pack` (or assemble-wasm).'
    if (options.strict) throw new AgentosError('ERR_AGENTOS_SOFTWARE_SOURCE_ROOT', message, {hint, path})
    process.emitWarning(`${message}. ${hint}`, {
      type: 'AgentosWarning',
      code: 'WARN_AGENTOS_SOFTWARE_SOURCE_ROOT',
    })
  }
  return descriptor(path)
}

function refPath(entry: SoftwareRef): string {
  const {packagePath, packageDir} = (entry ?? {}) as {packagePath?: unknown; packageDir?: unknown}
  const given = [packagePath, packageDir].filter((value) => value !== undefined)
  const path = given[0]
  if (typeof path !== 'string' || path === '' || given.some((value) => value !== path)) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_INVALID',
      'defineSoftware() needs {packagePath: string} (or {packageDir: string}; both only if equal)',
      {hint: 'Pass {packagePath: resolve(import.meta.dirname, "my-tool-package")}.'},
    )
  }
  return path
}

/** Why a directory is a source root rather than a package, if it looks like one. */
function sourceRootSmell(dir: string, has: (name: string) => boolean): string | undefined {
  if (!has(MANIFEST_FILE) && !has('package.aospkg')) {
    return `no ${MANIFEST_FILE} (the runtime refuses a directory without it or package.aospkg)`
  }
  const found = ['src', 'tsconfig.json', '.git'].filter(has)
  return found.length > 0 ? `it holds ${found.join(', ')}` : undefined
}

function descriptor(path: string): SoftwareDescriptor {
  const resolved = resolve(path)
  return Object.freeze({packagePath: resolved, packageDir: resolved})
}

/** Flattens nested meta-packages into a list of descriptors, keeping the first of each directory. */
export function flattenSoftware(software: Software | readonly Software[]): SoftwareDescriptor[] {
  const out: SoftwareDescriptor[] = []
  const seen = new Set<string>()
  const walk = (entry: Software) => {
    if (Array.isArray(entry)) {
      for (const child of entry as readonly Software[]) walk(child)
      return
    }
    const path = resolve(refPath(entry as SoftwareRef))
    if (seen.has(path)) return
    seen.add(path)
    const given = entry as Partial<SoftwareDescriptor>
    // A descriptor made by defineSoftware is kept as it is; a bare ref gets both names.
    out.push(
      given.packagePath === path && given.packageDir === path
        ? (entry as SoftwareDescriptor)
        : descriptor(path),
    )
  }
  walk(software)
  return out
}
