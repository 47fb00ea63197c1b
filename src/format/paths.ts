import {posix} from 'node:path'

/** The agentOS manifest's file name at the package root. */
export const MANIFEST_FILE = 'agentos-package.json'

/**
 * Where the runtime reads an agent's SDK snapshot bundle when `agent.snapshot` is true, relative to
 * the package root (runtime 0.2.21; an `.aospkg` names it in `snapshotBundlePath`).
 */
export const SNAPSHOT_BUNDLE_FILE = 'dist/sdk-snapshot.js'

/**
 * The marker `pack` and `assemble-wasm` leave at the root of a package directory they write: what
 * lets a later run replace that directory without `--force`. Not part of the package: readers skip
 * it, so it is in no digest, archive or tarball.
 */
export const OUTPUT_MARKER = '.agentos-output.json'

const PACKAGE_JSON = /(^|\/)node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/

/** True for the JSON files a snapshot keeps as text: the package's own and its closure's manifests. */
export function isDescriptorFile(path: string): boolean {
  return path === 'package.json' || path === MANIFEST_FILE || PACKAGE_JSON.test(path)
}

/** Why a path was refused. `null` from a checker means the path is fine. */
export type PathIssue = 'empty' | 'absolute' | 'escapes' | 'backslash' | 'control-char' | 'not-absolute'

// The VM is POSIX: a backslash is a valid filename character there, but in a package path it is
// almost always a Windows path that will not resolve, so it is refused rather than guessed at.
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * Normalizes a package-relative path (`./bin/x`, `a//b/../c`) to its canonical form (`bin/x`,
 * `a/c`). Returns the issue instead when the path is empty, absolute, or leaves the package root.
 */
export function normalizePackagePath(input: string): {path: string} | {issue: PathIssue} {
  if (input === '') return {issue: 'empty'}
  if (CONTROL.test(input)) return {issue: 'control-char'}
  if (input.includes('\\')) return {issue: 'backslash'}
  if (input.startsWith('/')) return {issue: 'absolute'}
  const normalized = posix.normalize(input).replace(/\/+$/, '')
  if (normalized === '..' || normalized.startsWith('../')) return {issue: 'escapes'}
  if (normalized === '.' || normalized === '') return {issue: 'empty'}
  return {path: normalized}
}

/**
 * Checks an absolute VM path: it must start with `/`, contain no `..` segment, and be in
 * normalized form already (no `//`, `/./`, trailing `/` except for the root itself).
 */
export function checkVmPath(input: string): PathIssue | 'not-normalized' | null {
  if (input === '') return 'empty'
  if (CONTROL.test(input)) return 'control-char'
  if (!input.startsWith('/')) return 'not-absolute'
  if (input.split('/').includes('..')) return 'escapes'
  if (input !== '/' && (input.endsWith('/') || posix.normalize(input) !== input)) return 'not-normalized'
  return null
}

/**
 * Resolves a symlink's target (as stored in the link) relative to the link's own package path and
 * says whether it stays inside the package. Absolute targets always leave it.
 */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target))
  return !(resolved === '..' || resolved.startsWith('../'))
}

/** Links followed by {@link symlinkResolvesInside} before it calls a chain a loop (Linux's 40). */
const MAX_LINK_HOPS = 40

/**
 * Whether the link at `linkPath` (package-relative) stays inside the package *as resolved*: every
 * link met on the way (`targetOf` answers for a package-relative path: its link target, undefined
 * when it is not a link) is followed, component by component, as the kernel would on disk, so a
 * chain of individually harmless links (`d/s -> ..`, `up -> d/s/d/s/../..`) that reaches above
 * the package counts as leaving it. An absolute target, a `..` above the package or a loop leaves.
 * The one rule of `validate`, `run`'s mount and `.aospkg` extraction.
 */
export function symlinkResolvesInside(
  linkPath: string,
  targetOf: (path: string) => string | undefined,
): boolean {
  const parts = (path: string) => path.split('/').filter((part) => part !== '' && part !== '.')
  const done = parts(linkPath)
  let pending: string[] = []
  let hops = 0
  // Whether the last component walked may be a link (a `..` lands on one already walked).
  let check = true
  for (;;) {
    const target = check && done.length > 0 ? targetOf(done.join('/')) : undefined
    if (target !== undefined) {
      if (target.startsWith('/') || ++hops > MAX_LINK_HOPS) return false
      done.pop()
      pending = [...parts(target), ...pending]
    }
    const part = pending.shift()
    if (part === undefined) return true
    check = part !== '..'
    if (check) done.push(part)
    else if (done.pop() === undefined) return false
  }
}

/** The longest file name (one path segment) Linux allows, in bytes (NAME_MAX). */
export const NAME_MAX = 255

/**
 * A name usable as one path segment (`/opt/agentos/<name>`, a command in `/opt/agentos/bin`):
 * non-empty, not `.`/`..`, no `/`, NUL or control characters, at most {@link NAME_MAX} bytes.
 */
export function isSafeSegment(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !CONTROL.test(name) &&
    Buffer.byteLength(name) <= NAME_MAX
  )
}

/** POSIX portable environment variable name. */
export function isPosixEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
}
