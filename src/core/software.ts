import {existsSync, statSync} from 'node:fs'
import {isAbsolute, join, resolve} from 'node:path'
import {AgentosError} from './errors.js'
import {MANIFEST_FILE} from './format/manifest.js'

/** A software entry: a pointer to a self-contained package directory. */
export interface SoftwareDescriptor {
  /** Absolute host path of the package directory. */
  readonly packageDir: string
}

/** A software entry or a meta-package: a (possibly nested) array of entries. */
export type Software = SoftwareDescriptor | readonly Software[]

/**
 * Declares a software package for an agentOS VM. `packageDir` must be an absolute path to a
 * package directory (one with `package.json` or `agentos-package.json`), such as the output of
 * `pack` or `assemble-wasm` — never a source root. An array declares a meta-package.
 *
 * @throws AgentosError `ERR_AGENTOS_SOFTWARE_DIR_RELATIVE` / `_NOT_FOUND` / `_NOT_PACKAGE`.
 */
export function defineSoftware(options: {packageDir: string}): SoftwareDescriptor
export function defineSoftware(options: readonly Software[]): readonly Software[]
export function defineSoftware(options: {packageDir: string} | readonly Software[]): Software {
  if (Array.isArray(options)) return Object.freeze(options.map((entry: Software) => checkEntry(entry)))
  return checkEntry(options as SoftwareDescriptor)
}

function checkEntry(entry: Software): Software {
  if (Array.isArray(entry)) return defineSoftware(entry as readonly Software[])
  const packageDir = (entry as SoftwareDescriptor | undefined)?.packageDir
  if (typeof packageDir !== 'string' || packageDir === '') {
    throw new AgentosError('ERR_AGENTOS_SOFTWARE_INVALID', 'defineSoftware() needs {packageDir: string}', {
      hint: 'Pass {packageDir: resolve(import.meta.dirname, "dist/package")}.',
    })
  }
  if (!isAbsolute(packageDir)) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
      `packageDir "${packageDir}" is not absolute`,
      {
        hint: 'Resolve it first: resolve(dirname(fileURLToPath(import.meta.url)), "my-tool-package").',
        path: packageDir,
      },
    )
  }
  if (!existsSync(packageDir) || !statSync(packageDir).isDirectory()) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_DIR_NOT_FOUND',
      `packageDir ${packageDir} is not a directory`,
      {
        hint: 'Build the package first (`agentos-toolchain pack` or `assemble-wasm`).',
        path: packageDir,
      },
    )
  }
  if (!existsSync(join(packageDir, 'package.json')) && !existsSync(join(packageDir, MANIFEST_FILE))) {
    throw new AgentosError(
      'ERR_AGENTOS_SOFTWARE_NOT_PACKAGE',
      `packageDir ${packageDir} has neither package.json nor ${MANIFEST_FILE}`,
      {hint: 'Point packageDir at a package directory, such as the output of pack.', path: packageDir},
    )
  }
  return Object.freeze({packageDir: resolve(packageDir)})
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
    const descriptor = entry as SoftwareDescriptor
    const key = resolve(descriptor.packageDir)
    if (seen.has(key)) return
    seen.add(key)
    out.push(descriptor)
  }
  walk(software)
  return out
}
