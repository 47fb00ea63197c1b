/** The `node_modules` closure: which npm packages the package holds, and that their dependencies resolve. */
import {posix} from 'node:path'
import type {Problem} from '../../errors.js'
import {parseJsonLenient} from '../../format/json.js'
import type {ClosurePackage} from '../model.js'
import type {PackageSnapshot} from '../snapshot.js'

/**
 * The npm packages under `node_modules` with their file counts, sorted by path; every dependency
 * (of the root and of each package) must resolve the way Node's lookup would.
 */
export function closurePackages(
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  problems: Problem[],
): ClosurePackage[] {
  const packages = new Map<string, ClosurePackage & {deps: string[]}>()
  for (const [path, text] of snapshot.texts) {
    if (path === 'package.json' || !path.endsWith('/package.json')) continue
    const dir = path.slice(0, -'/package.json'.length)
    const pkg = parseJsonLenient(text) as Record<string, unknown> | undefined
    const name = typeof pkg?.name === 'string' ? pkg.name : dir.slice(dir.lastIndexOf('node_modules/') + 13)
    const deps = Object.keys((pkg?.dependencies as Record<string, unknown> | undefined) ?? {})
    packages.set(dir, {
      name,
      version: typeof pkg?.version === 'string' ? pkg.version : '',
      path: dir,
      files: 0,
      bytes: 0,
      deps,
    })
  }
  if (packages.size === 0 && !packageJson) return []

  // Attribute every file to the innermost package directory that holds it.
  for (const entry of snapshot.entries) {
    if (entry.kind !== 'file') continue
    let dir = posix.dirname(entry.path)
    while (dir !== '.' && !packages.has(dir)) dir = posix.dirname(dir)
    const owner = packages.get(dir)
    if (owner) {
      owner.files++
      owner.bytes += entry.size
    }
  }

  const resolves = (fromDir: string, dep: string): boolean => {
    let dir = fromDir
    for (;;) {
      const candidate = dir === '' ? `node_modules/${dep}` : `${dir}/node_modules/${dep}`
      if (packages.has(candidate) || snapshot.byPath.get(candidate)?.kind === 'dir') return true
      if (dir === '') return false
      const parent = dir.lastIndexOf('/node_modules/')
      dir = parent < 0 ? '' : dir.slice(0, parent)
    }
  }
  const rootDeps = Object.keys((packageJson?.dependencies as Record<string, unknown> | undefined) ?? {})
  const checks: Array<[string, string, string[]]> = [['', 'package.json', rootDeps]]
  for (const pkg of packages.values()) checks.push([pkg.path, `${pkg.path}/package.json`, pkg.deps])
  for (const [dir, file, deps] of checks) {
    for (const dep of deps) {
      if (resolves(dir, dep)) continue
      problems.push({
        code: 'ERR_AGENTOS_DEP_MISSING',
        severity: 'error',
        path: `${file}#dependencies.${dep}`,
        message: `${file} depends on "${dep}", which is not in the package's node_modules`,
        hint: 'Re-pack so the whole production closure is included: `agentos-toolchain pack <project>`.',
      })
    }
  }
  return [...packages.values()]
    .map(({deps: _deps, ...rest}) => rest)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
