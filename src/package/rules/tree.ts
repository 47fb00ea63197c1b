/**
 * The package's files as a tree: no source-root leftovers, links or special files, installed
 * devDependencies or native code, and every path the manifest provides present.
 */
import type {Problem} from '../../errors.js'
import {describeKind, detectHeader, isNativeKind} from '../../format/header.js'
import {parseJsonLenient} from '../../format/json.js'
import {MANIFEST_FILE, normalizePackagePath, symlinkResolvesInside} from '../../format/paths.js'
import type {PackageEntry, PackageSnapshot} from '../snapshot.js'

const SOURCE_SMELLS: Array<[RegExp, string]> = [
  [/^src$/, 'a src/ directory'],
  [/^tsconfig(\..+)?\.json$/, 'a TypeScript config'],
  [/^\.git$/, 'a .git directory'],
  [/^(\.cache|\.turbo|\.next|\.nuxt|\.parcel-cache|\.nyc_output|coverage|\.eslintcache)$/, 'a build cache'],
  [/^node_modules\/\.cache$/, 'a build cache'],
  [/^[^/]+\.tsbuildinfo$/, 'a TypeScript build cache'],
]

/** Checks every entry of the package, in order. */
export function checkTree(
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  problems: Problem[],
): void {
  // A devDependency that some installed package needs at run time is part of the closure.
  const neededAtRuntime = new Set<string>()
  for (const [path, text] of snapshot.texts) {
    if (path === 'package.json') continue
    const pkg = parseJsonLenient(text) as {dependencies?: Record<string, unknown>} | undefined
    for (const dep of Object.keys(pkg?.dependencies ?? {})) neededAtRuntime.add(dep)
  }
  const devDependencies = new Set(
    Object.keys((packageJson?.devDependencies as Record<string, unknown> | undefined) ?? {}).filter(
      (name) => !neededAtRuntime.has(name),
    ),
  )
  // Links are judged as resolved through the package's other links (a chain may leave it).
  const links = new Map(
    snapshot.entries.flatMap((e) => (e.kind === 'symlink' ? [[e.path, e.linkTarget ?? '']] : [])),
  )
  const targetOf = (path: string) => links.get(path)
  for (const entry of snapshot.entries) checkEntry(entry, snapshot, devDependencies, problems, targetOf)
}

function checkEntry(
  entry: PackageEntry,
  snapshot: PackageSnapshot,
  devDependencies: ReadonlySet<string>,
  problems: Problem[],
  targetOf: (path: string) => string | undefined,
): void {
  const {path} = entry
  for (const [pattern, what] of SOURCE_SMELLS) {
    if (pattern.test(path)) {
      problems.push({
        code: 'WARN_AGENTOS_SOURCE_ROOT',
        severity: 'warning',
        path,
        message: `${path} looks like ${what}: this seems to be a source root, not a clean package`,
        hint: 'Point at the output of `agentos-toolchain pack` or `assemble-wasm` (e.g. dist/package).',
      })
    }
  }
  if (entry.kind === 'symlink') {
    const inside = symlinkResolvesInside(path, targetOf)
    if (inside && snapshot.origin.type === 'aospkg') {
      // The container keeps links and the runtime resolves them inside the archive (the
      // reference toolchain's bin/<cmd> links, for one); only a package shipped as files through
      // npm loses them, and the bin map never relies on them.
      problems.push({
        code: 'WARN_AGENTOS_AOSPKG_SYMLINK',
        severity: 'warning',
        path,
        message: `${path} is a symlink → ${entry.linkTarget}: the archive keeps it, a package directory shipped through npm would lose it`,
        hint: 'Nothing to do for the archive; a directory package should hold the real file instead.',
      })
      return
    }
    problems.push({
      code: 'ERR_AGENTOS_SYMLINK',
      severity: 'error',
      path,
      message: `${path} is a symlink → ${entry.linkTarget}${inside ? '' : ' (pointing outside the package)'}`,
      hint: path.includes('node_modules/.bin/')
        ? 'Remove node_modules/.bin: the runtime links commands from the bin map itself.'
        : 'Replace the symlink with the real file: packages ship without symlinks.',
    })
  } else if (entry.kind === 'hardlink' || entry.kind === 'other') {
    problems.push({
      code: 'ERR_AGENTOS_SPECIAL_FILE',
      severity: 'error',
      path,
      message: `${path} is a ${entry.kind === 'hardlink' ? 'hard link' : 'device, FIFO or socket'}, which a package cannot hold`,
      hint: 'Keep only regular files and directories in the package.',
    })
  }
  const topModule = /^node_modules\/((@[^/]+\/)?[^/]+)$/.exec(path)
  if (topModule && entry.kind === 'dir' && devDependencies.has(topModule[1]!)) {
    problems.push({
      code: 'WARN_AGENTOS_DEV_DEPENDENCY_INSTALLED',
      severity: 'warning',
      path,
      message: `devDependency ${topModule[1]} is installed in node_modules`,
      hint: 'Ship only the production closure: run `agentos-toolchain pack`.',
    })
  }
  if (entry.kind === 'file') checkNativeCode(entry, problems)
}

/** Native addons anywhere, and native executables among the installed packages. */
function checkNativeCode(entry: PackageEntry, problems: Problem[]): void {
  const {path} = entry
  if (path.endsWith('.node')) {
    problems.push({
      code: 'ERR_AGENTOS_NATIVE_ADDON',
      severity: 'error',
      path,
      message: `${path} is a native Node.js addon, which cannot load in agentOS`,
      hint: 'Re-run `agentos-toolchain pack --prune-native` if the addon is never loaded on the code path used.',
    })
    return
  }
  if (!/(^|\/)node_modules\//.test(path)) return
  const header = detectHeader(entry.head ?? Buffer.alloc(0))
  if (isNativeKind(header.kind)) {
    problems.push({
      code: 'ERR_AGENTOS_NATIVE_BINARY',
      severity: 'error',
      path,
      message: `${path} is a ${describeKind(header)}, which cannot run in agentOS`,
      hint: 'Re-run `agentos-toolchain pack --prune-native` to drop native binaries the package does not need.',
    })
  }
}

/** provides.files sources must exist in the package. */
export function checkProvidedSources(
  snapshot: PackageSnapshot,
  manifestRaw: Record<string, unknown> | undefined,
  problems: Problem[],
): void {
  const provides = manifestRaw?.provides as Record<string, unknown> | undefined
  if (!provides || !Array.isArray(provides.files)) return
  provides.files.forEach((file: unknown, index: number) => {
    const source = (file as Record<string, unknown> | null)?.source
    if (typeof source !== 'string') return
    const checked = normalizePackagePath(source)
    // Unusable paths are reported by the manifest check; only real package paths can be missing.
    if ('issue' in checked) return
    const normalized = checked.path
    if (
      !snapshot.byPath.has(normalized) &&
      !snapshot.entries.some((e) => e.path.startsWith(`${normalized}/`))
    ) {
      problems.push({
        code: 'ERR_AGENTOS_PROVIDES_SOURCE_MISSING',
        severity: 'error',
        path: `${MANIFEST_FILE}#provides.files[${index}].source`,
        message: `provides source "${source}" does not exist in the package`,
        hint: 'Add the file to the package (assemble-wasm --include, or the npm "files" list), or fix the path.',
      })
    }
  })
}
