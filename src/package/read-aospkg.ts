/**
 * `.aospkg` archives as {@link PackageSnapshot}s, so `inspect`, `validate` and the analyzer treat
 * an archive exactly like a package directory: the index gives the entries, file heads and the
 * `package.json` texts come from positional reads of the tar, and chunk 1 becomes the
 * `agentos-package.json` text (the packer strips that file from the tar).
 */
import {createHash} from 'node:crypto'
import {mapLimit} from '../util/map-limit.js'
import type {Problem} from '../errors.js'
import {copyHead, PE_PROBE_BYTES} from '../format/header.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {isDescriptorFile} from '../format/paths.js'
import {
  type ContainerFacts,
  finishSnapshot,
  type PackageEntry,
  type PackageSnapshot,
  type ReadOptions,
  type SnapshotOrigin,
} from './snapshot.js'
import type {AospkgEntry} from '../archive/container.js'
import {renderManifestText} from '../archive/manifest.js'
import {DESCRIPTOR_TEXT_LIMIT} from '../format/limits.js'
import {
  type AospkgArchive,
  bufferSource,
  isAospkgFile,
  openAospkg,
  openAospkgFile,
} from '../archive/reader.js'

/** Where an npm tarball of an agentOS software package keeps its archive (`package/` stripped). */
export const WRAPPED_AOSPKG = 'dist/package.aospkg'

const HASH_BUFFER = 1024 * 1024

/**
 * Reads an opened archive into a snapshot: index entries (without `/`), heads of every file, the
 * `package.json` texts, chunk 1 rendered as `agentos-package.json`, and with `digest` a content
 * hash of every file, streamed range by range through fixed buffers.
 */
export async function snapshotFromArchive(
  archive: AospkgArchive,
  origin: SnapshotOrigin,
  options: ReadOptions,
  wrapper?: ContainerFacts['wrapper'],
): Promise<PackageSnapshot> {
  const index = await archive.index()
  const problems: Problem[] = []
  const texts = new Map<string, string>()
  const {entries, files} = indexEntries(index, problems)
  await readFiles(archive, files, texts, options)

  const manifestText = renderManifestText(archive.manifest)
  const manifestBytes = Buffer.from(manifestText)
  entries.push({
    path: MANIFEST_FILE,
    kind: 'file',
    mode: 0o644,
    size: manifestBytes.length,
    head: copyHead(manifestBytes),
    ...(options.digest ? {sha256: createHash('sha256').update(manifestBytes).digest('hex')} : {}),
  })
  texts.set(MANIFEST_FILE, manifestText)

  if (wrapper?.version !== undefined && wrapper.version !== archive.manifest.version) {
    problems.push({
      code: 'WARN_AGENTOS_AOSPKG_WRAPPER_VERSION',
      severity: 'warning',
      path: `${origin.member ?? WRAPPED_AOSPKG}#version`,
      message: `the npm package is version ${wrapper.version} but its ${WRAPPED_AOSPKG} is ${archive.manifest.version}`,
      hint: 'Rebuild the archive before publishing so both versions agree.',
    })
  }
  const snapshot = finishSnapshot(origin, entries, texts, problems, options)
  snapshot.container = {
    formatVersion: archive.header.formatVersion,
    manifestSchema: archive.manifestSchema,
    indexSchema: archive.indexSchema ?? archive.manifestSchema,
    manifest: archive.manifest,
    indexEntries: index.length,
    ...(wrapper ? {wrapper} : {}),
  }
  return snapshot
}

/** The index as package entries (without `/`), and the file entries whose contents are to read. */
function indexEntries(
  index: readonly AospkgEntry[],
  problems: Problem[],
): {entries: PackageEntry[]; files: Array<[PackageEntry, AospkgEntry]>} {
  const entries: PackageEntry[] = []
  const files: Array<[PackageEntry, AospkgEntry]> = []
  for (const item of index) {
    if (item.path === '/') continue
    const path = item.path.slice(1)
    if (path === MANIFEST_FILE) {
      // The runtime would mount it as a plain file; the manifest that counts is chunk 1.
      problems.push({
        code: 'WARN_AGENTOS_AOSPKG_MANIFEST_IN_TAR',
        severity: 'warning',
        path: MANIFEST_FILE,
        message: `the archive's tar holds an ${MANIFEST_FILE}; the runtime uses the manifest chunk instead`,
        hint: 'Repack with agentos-toolchain pack --format aospkg, which keeps the manifest out of the tar.',
      })
      continue
    }
    const entry: PackageEntry = {
      path,
      kind: item.kind,
      mode: item.mode & 0o7777,
      size: item.kind === 'file' ? item.size : 0,
    }
    if (item.kind === 'symlink') entry.linkTarget = item.linkTarget
    entries.push(entry)
    if (item.kind === 'file') files.push([entry, item])
  }
  return {entries, files}
}

/** Fills in each file's head (and with `digest` its hash) and the descriptor texts. */
async function readFiles(
  archive: AospkgArchive,
  files: Array<[PackageEntry, AospkgEntry]>,
  texts: Map<string, string>,
  options: ReadOptions,
): Promise<void> {
  // Hashing lanes each own a read buffer; head reads are small and need none.
  const lanes = options.digest ? 4 : 16
  const buffers = options.digest ? Array.from({length: lanes}, () => Buffer.allocUnsafe(HASH_BUFFER)) : []
  await mapLimit(files, lanes, async ([entry, item]) => {
    if (options.digest) {
      const buffer = buffers.pop()!
      try {
        const hash = createHash('sha256')
        let head: Buffer | undefined
        await archive.stream(item, buffer, (chunk) => {
          hash.update(chunk)
          head ??= Buffer.from(chunk.subarray(0, PE_PROBE_BYTES))
        })
        entry.sha256 = hash.digest('hex')
        entry.head = copyHead(head ?? Buffer.alloc(0))
      } finally {
        buffers.push(buffer)
      }
    } else {
      entry.head = copyHead(await archive.head(item, PE_PROBE_BYTES))
    }
    if (isDescriptorFile(entry.path) && item.size <= DESCRIPTOR_TEXT_LIMIT) {
      texts.set(entry.path, (await archive.head(item, item.size)).toString('utf8'))
    }
  })
}

/** Reads an `.aospkg` file into a snapshot; see {@link snapshotFromArchive}. */
export async function readAospkgPackage(file: string, options: ReadOptions = {}): Promise<PackageSnapshot> {
  const archive = await openAospkgFile(file)
  try {
    return await snapshotFromArchive(
      archive,
      {type: 'aospkg', path: file, formatVersion: archive.header.formatVersion},
      options,
    )
  } finally {
    await archive.close()
  }
}

/** A raw (prefix-included) tar path that may be the archive of an npm-wrapped package. */
function maybeWrapped(path: string): boolean {
  return path === WRAPPED_AOSPKG || /^[^/]+\/dist\/package\.aospkg$/.test(path)
}

/**
 * Reads a package file: an `.aospkg` (by name or by its magic), or a `.tgz`/`.tar`. A tarball whose
 * package root holds `dist/package.aospkg` — the npm form of the `@agentos-software/*` packages,
 * whose `dist/index.js` hands the runtime that archive as the package; an agent such as `pi` ships
 * its source `agentos-package.json` beside it, which the runtime never mounts — is read as that
 * archive, in the same single pass over the
 * tarball: the member is kept in memory as it streams by (not spilled to disk; it is at most the
 * package's uncompressed size, 67 MB for coreutils, and nothing else of the tarball is retained).
 */
export async function readPackageFile(file: string, options: ReadOptions = {}): Promise<PackageSnapshot> {
  if (await isAospkgFile(file)) return readAospkgPackage(file, options)
  const {readTarball} = await import('./read-tarball.js')
  const kept = new Map<string, Buffer>()
  const snapshot = await readTarball(file, options, {match: maybeWrapped, kept})
  const prefix = snapshot.origin.prefix
  const member = prefix ? `${prefix}/${WRAPPED_AOSPKG}` : WRAPPED_AOSPKG
  const bytes = kept.get(member)
  if (!bytes || snapshot.byPath.get(WRAPPED_AOSPKG)?.kind !== 'file') {
    return snapshot
  }
  const archive = await openAospkg(bufferSource(bytes), `${file}:${member}`)
  try {
    return await snapshotFromArchive(
      archive,
      {type: 'aospkg', path: file, member, formatVersion: archive.header.formatVersion},
      options,
      wrapperIdentity(snapshot.texts.get('package.json')),
    )
  } finally {
    await archive.close()
  }
}

function wrapperIdentity(text: string | undefined): ContainerFacts['wrapper'] {
  try {
    const pkg = JSON.parse(text ?? '') as Record<string, unknown>
    return {
      ...(typeof pkg.name === 'string' ? {name: pkg.name} : {}),
      ...(typeof pkg.version === 'string' ? {version: pkg.version} : {}),
    }
  } catch {
    return {}
  }
}
