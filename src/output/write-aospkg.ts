/**
 * Writes a package directory as a version 1 `.aospkg`: the header, chunk 1 from the directory's
 * `agentos-package.json` plus what is derived from the tree (commands from the bin map, man pages,
 * the snapshot bundle), chunk 2 indexing every member, and chunk 3, a deterministic uncompressed
 * tar of the package without `agentos-package.json` (`package.json` stays: Node resolution reads
 * it). Equal directories give byte-identical archives.
 */
import {lstat, open, rename, rm} from 'node:fs/promises'
import {join, posix} from 'node:path'
import {compareBytes} from '../format/byte-order.js'
import {AgentosError, EXIT_USAGE} from '../errors.js'
import {normalizeBin} from '../format/bin-map.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {normalizedMode, type PackageEntry, type PackageSnapshot} from '../package/snapshot.js'
import {readPackage} from '../package/read.js'
import {
  AOSPKG_MAGIC,
  AOSPKG_MAX_ENTRIES,
  type AospkgEntry,
  type AospkgManifest,
  encodeHeader,
  encodeIndex,
  encodeManifest,
  MODE_TYPE,
  SNAPSHOT_BUNDLE_PATH,
} from '../archive/container.js'
import {manifestFromJson} from '../archive/manifest.js'
import {BLOCK, memberHeader, padding, type TarMember} from '../archive/tar-writer.js'
import {ArchiveWriter} from './archive-writer.js'
import {outputError} from './errors.js'
import {tempFileSibling} from './siblings.js'

/** Options of {@link writeAospkg}. */
export interface WriteAospkgOptions {
  /**
   * The directory's snapshot when the caller already has one (pack and assemble-wasm do, from
   * writing it), so the tree is not listed twice.
   */
  snapshot?: PackageSnapshot
}

/** Result of {@link writeAospkg}. */
export interface WrittenAospkg {
  /** Absolute path of the archive. */
  path: string
  /** Hex sha256 of the archive file. */
  sha256: string
  bytes: number
  formatVersion: 1
  /** Index entries, `/` included. */
  entries: number
  manifest: AospkgManifest
}

const MAX_U32 = 0xffffffff
const END_OF_ARCHIVE = 2 * BLOCK

interface Planned {
  member: TarMember
  header: Buffer
  /** Data offset within the tar. */
  offset: number
}

/**
 * Writes `dir` as an `.aospkg` at `file` (through a temp sibling and a rename, so a failure leaves
 * no partial archive).
 *
 * @throws AgentosError when the manifest or bin map cannot be encoded, the tree holds something the
 * container cannot (a device, a FIFO), it exceeds the runtime's limits, a file changes while it is
 * copied, or the file cannot be written.
 */
export async function writeAospkg(
  dir: string,
  file: string,
  options: WriteAospkgOptions = {},
): Promise<WrittenAospkg> {
  const snapshot = options.snapshot ?? (await readPackage(dir))
  const manifest = buildAospkgManifest(snapshot, dir)
  const planned = planMembers(orderedMembers(snapshot, dir))
  const index = indexOf(planned)
  const chunk1 = encodeManifest(manifest, 1)
  const chunk2 = encodeIndex(index, 1)
  if (chunk1.length > MAX_U32 || chunk2.length > MAX_U32) {
    throw new AgentosError('ERR_AGENTOS_AOSPKG_TOO_LARGE', 'the manifest or index exceeds 4 GiB', {
      hint: 'Ship fewer files, or keep the package as a directory.',
      path: dir,
    })
  }
  const writer = await writeArchiveFile(dir, file, [chunk1, chunk2], planned)
  return {
    path: file,
    sha256: writer.hash.digest('hex'),
    bytes: writer.written,
    formatVersion: 1,
    entries: index.length,
    manifest,
  }
}

/** Every member of the tar, parents synthesized, in byte-wise path order. */
function orderedMembers(snapshot: PackageSnapshot, dir: string): TarMember[] {
  const members = new Map<string, TarMember>()
  for (const entry of snapshot.entries) {
    if (entry.path === MANIFEST_FILE) continue
    for (let parent = posix.dirname(entry.path); parent !== '.'; parent = posix.dirname(parent)) {
      if (!members.has(parent)) members.set(parent, {path: parent, type: 'dir', mode: 0o755, size: 0})
    }
    members.set(entry.path, toMember(entry, dir))
  }
  const ordered = [...members.values()].sort((a, b) => compareBytes(a.path, b.path))
  if (ordered.length + 1 > AOSPKG_MAX_ENTRIES) {
    throw new AgentosError(
      'ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES',
      `the package has ${ordered.length + 1} entries; the runtime mounts at most ${AOSPKG_MAX_ENTRIES}`,
      {hint: 'Ship fewer files (prune the closure), or keep the package as a directory.', path: dir},
    )
  }
  return ordered
}

/** Each member with its tar header and the offset of its data within the tar. */
function planMembers(ordered: readonly TarMember[]): Planned[] {
  const planned: Planned[] = []
  let position = 0
  for (const member of ordered) {
    const header = memberHeader(member)
    position += header.length
    planned.push({member, header, offset: position})
    position += member.size + padding(member.size)
  }
  return planned
}

/** Chunk 2's entries: the root, then every member where its data lies in the tar. */
function indexOf(planned: readonly Planned[]): AospkgEntry[] {
  return [
    {path: '/', kind: 'dir', offset: 0, size: 0, mode: MODE_TYPE.dir | 0o755, uid: 0, gid: 0, mtime: 0},
    ...planned.map(({member, offset}) => ({
      path: `/${member.path}`,
      kind: member.type,
      offset,
      size: member.size,
      mode: MODE_TYPE[member.type] | member.mode,
      uid: 0,
      gid: 0,
      mtime: 0,
      ...(member.type === 'symlink' ? {linkTarget: member.linkTarget} : {}),
    })),
  ]
}

/**
 * Writes the header, the two chunks and the tar to a temp sibling of `target`, renamed into place
 * when complete; returns the writer, which hashed and counted every byte.
 */
async function writeArchiveFile(
  dir: string,
  target: string,
  [chunk1, chunk2]: readonly [Buffer, Buffer],
  planned: readonly Planned[],
): Promise<ArchiveWriter> {
  const temp = await tempFileSibling(target)
  const out = await open(temp, 'wx', 0o644).catch((error: NodeJS.ErrnoException) => {
    throw writeError(error, target)
  })
  const writer = new ArchiveWriter(out)
  try {
    await writer.write(encodeHeader(1, chunk1.length, chunk2.length))
    await writer.write(chunk1)
    await writer.write(chunk2)
    for (const {member, header} of planned) {
      await writer.write(header)
      if (member.type !== 'file') continue
      await writer.copyFile(join(dir, member.path), member.size)
      await writer.write(Buffer.alloc(padding(member.size)))
    }
    await writer.write(Buffer.alloc(END_OF_ARCHIVE))
    await writer.flush()
    await out.close()
    await rename(temp, target)
  } catch (error) {
    await out.close().catch(() => undefined)
    await rm(temp, {force: true})
    throw error instanceof AgentosError ? error : writeError(error as NodeJS.ErrnoException, target)
  }
  return writer
}

function toMember(entry: PackageEntry, dir: string): TarMember {
  switch (entry.kind) {
    case 'file':
      return {path: entry.path, type: 'file', mode: normalizedMode(entry.mode), size: entry.size}
    case 'dir':
      return {path: entry.path, type: 'dir', mode: 0o755, size: 0}
    case 'symlink':
      return {path: entry.path, type: 'symlink', mode: 0o777, size: 0, linkTarget: entry.linkTarget ?? ''}
    default:
      throw new AgentosError(
        'ERR_AGENTOS_AOSPKG_UNSUPPORTED_ENTRY',
        `${entry.path} is a ${entry.kind === 'hardlink' ? 'hard link' : 'device, FIFO or socket'}, which an .aospkg cannot hold`,
        {
          hint: 'Keep only regular files, directories and symlinks in the package.',
          path: join(dir, entry.path),
        },
      )
  }
}

/**
 * Chunk 1 for a package tree: name, version, agent and provides from `agentos-package.json`;
 * commands from the `package.json` bin map (else the files of `bin/`), sorted; man pages from
 * `share/man/<section>/<page>`; the snapshot bundle when the agent asks for one and it exists.
 */
export function buildAospkgManifest(snapshot: PackageSnapshot, where: string): AospkgManifest {
  const manifestText = snapshot.texts.get(MANIFEST_FILE)
  let parsed: unknown
  try {
    parsed = manifestText === undefined ? undefined : JSON.parse(manifestText)
  } catch (error) {
    throw new AgentosError('ERR_AGENTOS_AOSPKG_MANIFEST_INVALID', `${MANIFEST_FILE} is not valid JSON`, {
      hint: 'Fix the manifest (agentos-toolchain validate shows where).',
      path: join(where, MANIFEST_FILE),
      cause: error,
    })
  }
  const converted =
    manifestText === undefined ? {issue: `the package has no ${MANIFEST_FILE}`} : manifestFromJson(parsed)
  if ('issue' in converted) {
    throw new AgentosError(
      'ERR_AGENTOS_AOSPKG_MANIFEST_INVALID',
      `cannot encode ${MANIFEST_FILE}: ${converted.issue}`,
      {
        hint: 'An .aospkg needs a manifest with name and version; pack and assemble-wasm write one.',
        path: join(where, MANIFEST_FILE),
      },
    )
  }
  const core = converted.manifest

  let packageJson: unknown = {}
  const pkgText = snapshot.texts.get('package.json')
  try {
    if (pkgText !== undefined) packageJson = JSON.parse(pkgText)
  } catch {
    // As in the runtime: an unreadable package.json means "no bin map", so bin/ is listed.
  }
  const binDir = snapshot.entries
    .filter((e) => e.path.startsWith('bin/') && !e.path.slice(4).includes('/') && e.kind !== 'dir')
    .map((e) => e.path.slice(4))
  const bin = normalizeBin(packageJson, binDir)
  const binError = bin.problems.find((p) => p.severity === 'error')
  if (binError) {
    throw new AgentosError(
      'ERR_AGENTOS_AOSPKG_BIN_INVALID',
      `cannot list the commands: ${binError.message}`,
      {
        hint: binError.hint,
        path: join(where, 'package.json'),
      },
    )
  }

  const manPages = snapshot.entries
    .filter((e) => e.kind !== 'dir')
    .map((e) => /^share\/man\/([^/]+)\/([^/]+)$/.exec(e.path))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({section: match[1]!, page: match[2]!}))
  const bundle = SNAPSHOT_BUNDLE_PATH.slice(1)
  const manifest: AospkgManifest = {
    ...core,
    commands: bin.commands.map((c) => ({command: c.name, entry: c.entry})),
    manPages,
  }
  if (core.agent?.snapshot && snapshot.byPath.get(bundle)?.kind === 'file') {
    manifest.snapshotBundlePath = SNAPSHOT_BUNDLE_PATH
  }
  return manifest
}

/** A failed archive write: the temp sibling is removed, so no partial archive was left. */
function writeError(error: NodeJS.ErrnoException, path: string): AgentosError {
  return outputError(error, path, 'Check the output location; no partial archive was left.')
}

/** Options of {@link checkArchiveTarget}. */
export interface ArchiveTargetOptions {
  /** Replace an existing file that is not an `.aospkg`. */
  force?: boolean
}

/**
 * Decides, before anything is built, whether an archive may be written at `file`: a new path or an
 * earlier `.aospkg` (replaced) is fine; a directory never; another file only with `force`.
 */
export async function checkArchiveTarget(file: string, options: ArchiveTargetOptions = {}): Promise<void> {
  const info = await lstat(file).catch(() => undefined)
  if (!info) return
  if (info.isDirectory()) {
    throw new AgentosError('ERR_AGENTOS_AOSPKG_OUT_IS_DIR', `the archive path ${file} is a directory`, {
      hint: 'Pass another --out, or remove the directory.',
      path: file,
    })
  }
  // Not even --force replaces a device, FIFO or socket (as root, rename would take /dev/null away).
  if (!info.isFile() && !info.isSymbolicLink()) {
    throw new AgentosError('ERR_AGENTOS_AOSPKG_OUT_NOT_FILE', `the archive path ${file} is a special file`, {
      hint: 'Pass another --out, naming a regular file or a new path.',
      path: file,
    })
  }
  if (options.force) return
  let magic = Buffer.alloc(0)
  if (info.isFile()) {
    const handle = await open(file, 'r')
    try {
      magic = Buffer.alloc(4)
      const {bytesRead} = await handle.read(magic, 0, 4, 0)
      magic = magic.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }
  if (!magic.equals(AOSPKG_MAGIC)) {
    throw new AgentosError(
      'ERR_AGENTOS_AOSPKG_OUT_EXISTS',
      `${file} exists and is not an .aospkg; refusing to replace it`,
      {hint: 'Pass another --out, or --force to replace it.', path: file},
    )
  }
}

/** What `pack` and `assemble-wasm` write: the directory, an `.aospkg` instead, or both. */
export type OutputFormat = 'dir' | 'aospkg' | 'both'

/** The values of `--format`, default first. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['dir', 'aospkg', 'both']

/**
 * Where the archive goes for an output directory `out`: `<out>.aospkg`, next to the directory.
 * With `aospkg` alone, an `out` already ending in `.aospkg` names the archive itself; with `both`
 * it is refused, since the directory would carry the archive's name.
 */
export function archivePathFor(out: string, format: Exclude<OutputFormat, 'dir'>): string {
  if (!out.endsWith('.aospkg')) return `${out}.aospkg`
  if (format === 'aospkg') return out
  throw new AgentosError(
    'ERR_AGENTOS_AOSPKG_OUT_SUFFIX',
    `--format both writes the directory ${out} and ${out}.aospkg; the directory name should not end in .aospkg`,
    {
      hint: 'Pass --out without the .aospkg suffix (the archive gets it), or use --format aospkg.',
      path: out,
      exitCode: EXIT_USAGE,
    },
  )
}
