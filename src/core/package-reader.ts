import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {lstat, open, readdir, readFile, readlink, realpath, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {compareBytes, mapLimit} from '../lib/concurrency.js'
import type {ContainerFacts} from './aospkg/snapshot.js'
import {canonicalManifestText} from './aospkg/manifest.js'
import {AgentosError, type Problem} from './errors.js'
import {copyHead, HEADER_BYTES, PE_PROBE_BYTES} from './format/header.js'
import {MANIFEST_FILE} from './format/manifest.js'
import {isDescriptorFile, normalizePackagePath, OUTPUT_MARKER} from './format/paths.js'

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

const TEXT_LIMIT = 4 * 1024 * 1024
// Directories that are reported as a source-root smell but never descended into: they can be huge
// and nothing in them matters to the package.
const OPAQUE_DIRS = new Set(['.git', '.hg', '.svn'])

export {isDescriptorFile}

/**
 * Reads a package directory, a `.tgz`/`.tar` holding one, or an `.aospkg` archive (also inside an
 * npm tarball as `dist/package.aospkg`) into a {@link PackageSnapshot}, in place: nothing is
 * extracted.
 */
export async function readPackage(target: string, options: ReadOptions = {}): Promise<PackageSnapshot> {
  const absolute = resolve(target)
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new AgentosError(
      error.code === 'ENOENT' ? 'ERR_AGENTOS_TARGET_NOT_FOUND' : 'ERR_AGENTOS_TARGET_UNREADABLE',
      error.code === 'ENOENT' ? `${target} does not exist` : `cannot read ${target}: ${error.code}`,
      {hint: 'Pass a package directory, a .tgz/.tar holding one, or an .aospkg.', path: target, cause: error},
    )
  })
  if (info.isDirectory()) return readDirectory(await realpath(absolute), options)
  if (info.isFile()) {
    const {readPackageFile} = await import('./aospkg/snapshot.js')
    return readPackageFile(absolute, options)
  }
  throw new AgentosError('ERR_AGENTOS_TARGET_UNREADABLE', `${target} is neither a directory nor a file`, {
    hint: 'Pass a package directory, a .tgz/.tar holding one, or an .aospkg.',
    path: target,
  })
}

async function readDirectory(root: string, options: ReadOptions): Promise<PackageSnapshot> {
  const entries: PackageEntry[] = []
  const problems: Problem[] = []
  const texts = new Map<string, string>()
  const denied = (path: string, error: NodeJS.ErrnoException) =>
    problems.push({
      code: 'ERR_AGENTOS_READ_FAILED',
      severity: 'error',
      path,
      message: `cannot read ${path}: ${error.code ?? error.message}`,
      hint: 'Make every file of the package readable (chmod -R u+r).',
    })

  // Breadth-first over directories; files of each level are read with bounded concurrency.
  let level: string[] = ['']
  while (level.length > 0) {
    const nextLevel: string[] = []
    const files: PackageEntry[] = []
    await mapLimit(level, 8, async (dir) => {
      let dirents: import('node:fs').Dirent[]
      try {
        dirents = await readdir(join(root, dir), {withFileTypes: true})
      } catch (error) {
        denied(dir || '.', error as NodeJS.ErrnoException)
        return
      }
      for (const dirent of dirents) {
        if (!dir && dirent.name === OUTPUT_MARKER) continue
        const path = dir ? `${dir}/${dirent.name}` : dirent.name
        if (dirent.isDirectory()) {
          entries.push({path, kind: 'dir', mode: 0o755, size: 0})
          if (!OPAQUE_DIRS.has(dirent.name)) nextLevel.push(path)
        } else if (dirent.isSymbolicLink()) {
          const entry: PackageEntry = {path, kind: 'symlink', mode: 0o777, size: 0}
          entry.linkTarget = await readlink(join(root, path)).catch(() => '')
          entries.push(entry)
        } else if (dirent.isFile()) {
          const entry: PackageEntry = {path, kind: 'file', mode: 0, size: 0}
          entries.push(entry)
          files.push(entry)
        } else {
          entries.push({path, kind: 'other', mode: 0, size: 0})
        }
      }
    })
    await mapLimit(files, 32, async (entry) => {
      try {
        await readFileEntry(join(root, entry.path), entry, options)
        if (isDescriptorFile(entry.path) && entry.size <= TEXT_LIMIT) {
          texts.set(entry.path, await readFile(join(root, entry.path), 'utf8'))
        }
      } catch (error) {
        denied(entry.path, error as NodeJS.ErrnoException)
      }
    })
    level = nextLevel
  }
  return finishSnapshot({type: 'directory', path: root}, entries, texts, problems, options)
}

async function readFileEntry(file: string, entry: PackageEntry, options: ReadOptions): Promise<void> {
  const info = await lstat(file)
  entry.mode = info.mode & 0o7777
  entry.size = info.size
  if (options.digest) {
    const hash = createHash('sha256')
    const chunks: Buffer[] = []
    let kept = 0
    for await (const chunk of createReadStream(file)) {
      const buffer = chunk as Buffer
      hash.update(buffer)
      if (kept < PE_PROBE_BYTES) {
        chunks.push(buffer.subarray(0, PE_PROBE_BYTES - kept))
        kept += Math.min(buffer.length, PE_PROBE_BYTES - kept)
      }
    }
    entry.sha256 = hash.digest('hex')
    entry.head = copyHead(Buffer.concat(chunks))
    return
  }
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(Math.min(HEADER_BYTES, info.size))
    const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
    let head = buffer.subarray(0, bytesRead)
    if (head[0] === 0x4d && head[1] === 0x5a && info.size > HEADER_BYTES) {
      const more = Buffer.alloc(Math.min(PE_PROBE_BYTES, info.size))
      const read = await handle.read(more, 0, more.length, 0)
      head = more.subarray(0, read.bytesRead)
    }
    entry.head = head
  } finally {
    await handle.close()
  }
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
 * an archive and the directory it was written from hash alike (see aospkg/manifest.ts).
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
