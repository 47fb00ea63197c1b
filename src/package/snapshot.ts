// The package model every reader fills and every check reads: entries, texts, problems and the
// tree digest. A leaf of package/: the directory, tarball and .aospkg readers import it, and
// nothing here imports them back.
import {createHash} from 'node:crypto'
import type {AospkgManifest} from '../archive/container.js'
import {canonicalManifestText} from '../archive/manifest.js'
import {AgentosError, type Problem} from '../errors.js'
import {compareBytes} from '../format/byte-order.js'
import {MANIFEST_FILE, normalizePackagePath} from '../format/paths.js'

/** Kind of a tree entry. Hard links and devices only occur in tarballs. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other'

/** One file, directory or link of a package, as read from disk or from a tarball. */
export interface PackageEntry {
  /** Package-relative POSIX path, normalized (`node_modules/x/cli.js`). */
  path: string
  kind: EntryKind
  /** Permission bits (`0o755`). */
  mode: number
  size: number
  /** Target of a symlink or hard link, as stored. */
  linkTarget?: string
  /** First bytes of a file (see HEADER_BYTES / PE_PROBE_BYTES). */
  head?: Buffer
  /** Hex sha256 of a file's contents, when a digest was requested. */
  sha256?: string
}

/** Where a snapshot was read from. */
export interface SnapshotOrigin {
  type: 'directory' | 'tarball' | 'aospkg'
  /** Absolute path of the directory, tarball or `.aospkg`. */
  path: string
  /** For a tarball: the top-level folder the package was found in (`package/`), if any. */
  prefix?: string
  /** For an `.aospkg` inside an npm tarball: its member path (`package/dist/package.aospkg`). */
  member?: string
  /** For an `.aospkg`: its format version (1 or 2). */
  formatVersion?: number
}

/**
 * Everything the checks need to know about a package, read in one streaming pass: the entry list
 * with headers (never whole file contents), the text of the JSON files that describe it, and
 * optionally a content hash of every file.
 */
export interface PackageSnapshot {
  origin: SnapshotOrigin
  /** Sorted byte-wise by path. */
  entries: PackageEntry[]
  byPath: Map<string, PackageEntry>
  /** Text of `package.json` files (root and every package in node_modules) and the manifest. */
  texts: Map<string, string>
  /** Problems met while reading (unreadable files, tar members leaving the root). */
  problems: Problem[]
  /** `sha256:<hex>` tree digest, when requested. */
  digest?: string
  /** Set when the snapshot was read from an `.aospkg`: its decoded manifest and versions. */
  container?: ContainerFacts
}

/** Options of {@link readPackage}. */
export interface ReadOptions {
  /** Hash every file and compute the tree digest (reads all contents; off by default). */
  digest?: boolean
}

/** What a snapshot read from an `.aospkg` knows beyond the tree (`PackageSnapshot.container`). */
export interface ContainerFacts {
  formatVersion: number
  manifestSchema: number
  indexSchema: number
  /** Chunk 1 as decoded: the runtime projects commands and man pages from it. */
  manifest: AospkgManifest
  /** Number of index entries (`/` included). */
  indexEntries: number
  /** For an archive inside an npm tarball: that tarball's own package.json name and version. */
  wrapper?: {name?: string; version?: string}
}

/** Sorts entries, indexes them and computes the digest; shared by the directory and tar readers. */
export function finishSnapshot(
  origin: SnapshotOrigin,
  entries: PackageEntry[],
  texts: Map<string, string>,
  problems: Problem[],
  options: ReadOptions,
): PackageSnapshot {
  entries.sort((a, b) => compareBytes(a.path, b.path))
  const byPath = new Map(entries.map((entry) => [entry.path, entry]))
  const snapshot: PackageSnapshot = {origin, entries, byPath, texts, problems}
  if (options.digest) {
    // A file that could not be read has no hash, and a package with one has no content address:
    // said as a coded error (validate, which needs no digest, lists each such file as a problem).
    const unread = entries.find((entry) => entry.kind === 'file' && entry.sha256 === undefined)
    if (unread) {
      throw new AgentosError(
        'ERR_AGENTOS_TARGET_UNREADABLE',
        `cannot compute the digest of ${origin.path}: ${unread.path} could not be read`,
        {hint: 'Make every file of the package readable (chmod -R u+r).', path: unread.path},
      )
    }
    snapshot.digest = treeDigest(entries, texts.get(MANIFEST_FILE))
  }
  return snapshot
}

/**
 * The package's content address: sha256 over every file and symlink in byte-wise path order, each
 * contributing its path, its normalized mode (0755 when any exec bit is set, else 0644) and its
 * content hash (a symlink: its target). Directories do not count, so a tarball without directory
 * members and the extracted directory have the same digest.
 *
 * `agentos-package.json` counts by its canonical form when `manifestText` (its text) converts to a
 * container manifest: an `.aospkg` keeps the manifest as BARE, not as bytes, so this is what makes
 * an archive and the directory it was written from hash alike (see archive/manifest.ts).
 */
export function treeDigest(entries: readonly PackageEntry[], manifestText?: string): string {
  const hash = createHash('sha256')
  const canonical = manifestText === undefined ? undefined : canonicalManifestText(manifestText)
  for (const entry of [...entries].sort((a, b) => compareBytes(a.path, b.path))) {
    if (entry.kind === 'file' && canonical !== undefined && entry.path === MANIFEST_FILE) {
      const sha = createHash('sha256').update(canonical).digest('hex')
      hash.update(`m\0${sha}\0${entry.path}\0`)
    } else if (entry.kind === 'file') {
      if (entry.sha256 === undefined) throw new Error(`no content hash for ${entry.path}`)
      hash.update(`f\0${normalizedMode(entry.mode).toString(8)}\0${entry.sha256}\0${entry.path}\0`)
    } else if (entry.kind === 'symlink') {
      hash.update(`l\0${entry.linkTarget ?? ''}\0${entry.path}\0`)
    }
  }
  return `sha256:${hash.digest('hex')}`
}

/** The mode a package file gets when written: 0o755 if any exec bit is set, else 0o644. */
export function normalizedMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644
}

/** Normalizes a tar member name to a package path, or returns null when it leaves the root. */
export function memberPath(name: string): string | null {
  const trimmed = name.replace(/^(\.\/)+/, '')
  if (trimmed === '' || trimmed === '.') return ''
  const normalized = normalizePackagePath(trimmed)
  if ('path' in normalized) return normalized.path
  return normalized.issue === 'empty' ? '' : null
}
