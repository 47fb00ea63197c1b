/**
 * The `.aospkg` container, byte by byte:
 *
 * ```
 * 0   header, 16 bytes: 89 41 4F 53 | u16 format version | u16 flags (0) | u32 manifest_len | u32 index_len
 * 16  chunk 1 (manifest_len bytes): u16 schema version ++ BARE PackageManifest
 *     chunk 2 (index_len bytes):    u16 schema version ++ BARE MountIndex
 *     chunk 3 (rest of the file):   an uncompressed POSIX tar; index offsets point at member data in it
 * ```
 *
 * All integers are little-endian. Format and schema version 1 carry the `agent` block and
 * `snapshotBundlePath`; version 2 drops both. The index is the same in both.
 */
import {compareBytes} from '../format/byte-order.js'
import {AgentosError} from '../errors.js'
import {BareDecoder, BareEncoder} from './bare.js'
import {SNAPSHOT_BUNDLE_FILE} from '../format/paths.js'
import {AOSPKG_MAX_ENTRIES} from '../format/limits.js'

/** The four magic bytes at offset 0. */
export const AOSPKG_MAGIC = Buffer.from([0x89, 0x41, 0x4f, 0x53])
/** Size of the fixed header. */
export const AOSPKG_HEADER_BYTES = 16
/** Format (and chunk schema) versions this reader understands. */
export const AOSPKG_VERSIONS: readonly number[] = [1, 2]
export {AOSPKG_MAX_ENTRIES}
/** Where `snapshotBundlePath` points when `agent.snapshot` is set and the file exists. */
export const SNAPSHOT_BUNDLE_PATH = `/${SNAPSHOT_BUNDLE_FILE}`

/** Kind of an index entry (the BARE enum is FILE=0, DIRECTORY=1, SYMLINK=2). */
export type AospkgEntryKind = 'file' | 'dir' | 'symlink'
const KINDS: readonly AospkgEntryKind[] = ['file', 'dir', 'symlink']

/** File type bits of `mode`, as in `st_mode`. */
export const MODE_TYPE = {file: 0o100000, dir: 0o040000, symlink: 0o120000} as const

/** The decoded 16-byte header and where each chunk lies in the file. */
export interface AospkgHeader {
  formatVersion: number
  flags: number
  manifestLength: number
  indexLength: number
  /** Offset of chunk 2. */
  indexStart: number
  /** Offset of chunk 3, the tar; index offsets are relative to it. */
  tarStart: number
  /** Size of the whole file. */
  fileSize: number
}

/** The `agent` block of a v1 manifest. */
export interface AospkgAgent {
  acpEntrypoint: string
  snapshot: boolean
  env: Record<string, string>
  launchArgs: string[]
}

/** The `provides` block. */
export interface AospkgProvides {
  env: Record<string, string>
  files: Array<{source: string; target: string}>
}

/** Chunk 1: what the runtime projects without reading the tar. */
export interface AospkgManifest {
  name: string
  version: string
  /** v1 only. */
  agent?: AospkgAgent
  provides?: AospkgProvides
  /** Sorted by command; `entry` is package-relative (`bin/ls`). */
  commands: Array<{command: string; entry: string}>
  /** From index paths `/share/man/<section>/<page>`. */
  manPages: Array<{section: string; page: string}>
  /** v1 only. */
  snapshotBundlePath?: string
}

/** One entry of chunk 2. */
export interface AospkgEntry {
  /** Absolute, canonical (`/`, `/bin`, `/bin/ls`). */
  path: string
  kind: AospkgEntryKind
  /** Byte offset of the member's data within chunk 3. */
  offset: number
  size: number
  /** Type bits and permissions (`0o100755`). */
  mode: number
  uid: number
  gid: number
  /** Unix seconds. */
  mtime: number
  /** Symlinks only. */
  linkTarget?: string
}

const DAMAGED = 'The archive is damaged or was not written by an agentOS packer; rebuild it.'

/** A coded container error with the standard hint. */
export function containerError(code: string, message: string, path?: string, hint = DAMAGED): AgentosError {
  return new AgentosError(code, message, {hint, path})
}

/**
 * Decodes and checks the 16-byte header against the file size: magic, a known format version,
 * zero flags, and both chunks inside the file.
 */
export function decodeHeader(bytes: Uint8Array, fileSize: number, path?: string): AospkgHeader {
  if (fileSize < AOSPKG_HEADER_BYTES || bytes.length < AOSPKG_HEADER_BYTES) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_TRUNCATED',
      `the file is ${fileSize} bytes, shorter than the ${AOSPKG_HEADER_BYTES}-byte .aospkg header`,
      path,
    )
  }
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, AOSPKG_HEADER_BYTES)
  if (!header.subarray(0, 4).equals(AOSPKG_MAGIC)) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_MAGIC',
      `the file does not start with the .aospkg magic 89 41 4f 53 (found ${header.subarray(0, 4).toString('hex')})`,
      path,
      'Pass an .aospkg file, a package directory, or a .tgz/.tar holding one.',
    )
  }
  const formatVersion = header.readUInt16LE(4)
  if (!AOSPKG_VERSIONS.includes(formatVersion)) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_VERSION',
      `.aospkg format version ${formatVersion} is not supported (known: ${AOSPKG_VERSIONS.join(', ')})`,
      path,
      'Upgrade agentos-toolchain, or repack the package with a packer that writes a known version.',
    )
  }
  const flags = header.readUInt16LE(6)
  if (flags !== 0) {
    throw containerError('ERR_AGENTOS_AOSPKG_FLAGS', `the header flags are ${flags}; they must be 0`, path)
  }
  const manifestLength = header.readUInt32LE(8)
  const indexLength = header.readUInt32LE(12)
  // Both lengths are u32, so the sum stays far below 2^53: the runtime's overflow check on usize
  // becomes the plain bound below.
  const tarStart = AOSPKG_HEADER_BYTES + manifestLength + indexLength
  if (tarStart > fileSize) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_LENGTHS',
      `the header says the chunks end at byte ${tarStart} (manifest ${manifestLength} + index ${indexLength}) but the file is ${fileSize} bytes`,
      path,
    )
  }
  return {
    formatVersion,
    flags,
    manifestLength,
    indexLength,
    indexStart: AOSPKG_HEADER_BYTES + manifestLength,
    tarStart,
    fileSize,
  }
}

/** Encodes the 16-byte header. */
export function encodeHeader(formatVersion: number, manifestLength: number, indexLength: number): Buffer {
  const header = Buffer.alloc(AOSPKG_HEADER_BYTES)
  AOSPKG_MAGIC.copy(header, 0)
  header.writeUInt16LE(formatVersion, 4)
  header.writeUInt16LE(0, 6)
  header.writeUInt32LE(manifestLength, 8)
  header.writeUInt32LE(indexLength, 12)
  return header
}

function schemaVersion(decoder: BareDecoder, label: string, path?: string): number {
  if (decoder.remaining < 2) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_TRUNCATED',
      `the ${label} is ${decoder.remaining} bytes, too short for its schema version`,
      path,
    )
  }
  const version = decoder.u16()
  if (!AOSPKG_VERSIONS.includes(version)) {
    throw containerError(
      'ERR_AGENTOS_AOSPKG_SCHEMA_VERSION',
      `the ${label} has schema version ${version} (known: ${AOSPKG_VERSIONS.join(', ')})`,
      path,
      'Upgrade agentos-toolchain, or repack the package with a packer that writes a known version.',
    )
  }
  return version
}

/** Decodes chunk 1 (schema version prefix included), consuming it exactly. */
export function decodeManifest(
  bytes: Uint8Array,
  path?: string,
): {schemaVersion: number; manifest: AospkgManifest} {
  const d = new BareDecoder(bytes, 'manifest chunk', path)
  const version = schemaVersion(d, 'manifest chunk', path)
  const manifest: AospkgManifest = {
    name: d.str('name'),
    version: d.str('version'),
    commands: [],
    manPages: [],
  }
  if (version === 1) {
    const agent = d.optional(
      () => ({
        acpEntrypoint: d.str('agent.acpEntrypoint'),
        snapshot: d.bool('agent.snapshot'),
        env: d.stringMap('agent.env'),
        launchArgs: d.list(() => d.str('agent.launchArgs item'), 'agent.launchArgs'),
      }),
      'agent',
    )
    if (agent) manifest.agent = agent
  }
  const provides = d.optional(
    () => ({
      env: d.stringMap('provides.env'),
      files: d.list(
        () => ({source: d.str('provides.files source'), target: d.str('provides.files target')}),
        'provides.files',
      ),
    }),
    'provides',
  )
  if (provides) manifest.provides = provides
  manifest.commands = d.list(() => ({command: d.str('command'), entry: d.str('command entry')}), 'commands')
  manifest.manPages = d.list(() => ({section: d.str('man section'), page: d.str('man page')}), 'manPages')
  if (version === 1) {
    const bundle = d.optional(() => d.str('snapshotBundlePath'), 'snapshotBundlePath')
    if (bundle !== undefined) manifest.snapshotBundlePath = bundle
  }
  d.end()
  return {schemaVersion: version, manifest}
}

/** Encodes chunk 1 for a schema version; v2 has no place for `agent` or `snapshotBundlePath`. */
export function encodeManifest(manifest: AospkgManifest, version = 1): Buffer {
  const e = new BareEncoder().u16(version).str(manifest.name).str(manifest.version)
  const sortedEnv = (env: Record<string, string>) =>
    Object.entries(env).sort(([a], [b]) => compareBytes(a, b)) as Array<[string, string]>
  if (version === 1) {
    e.optional(manifest.agent, (agent) => {
      e.str(agent.acpEntrypoint).bool(agent.snapshot).stringMap(sortedEnv(agent.env))
      e.list(agent.launchArgs, (arg) => e.str(arg))
    })
  }
  e.optional(manifest.provides, (provides) => {
    e.stringMap(sortedEnv(provides.env))
    e.list(provides.files, (file) => e.str(file.source).str(file.target))
  })
  e.list(manifest.commands, (command) => e.str(command.command).str(command.entry))
  e.list(manifest.manPages, (page) => e.str(page.section).str(page.page))
  if (version === 1) e.optional(manifest.snapshotBundlePath, (bundle) => e.str(bundle))
  return e.bytes()
}

/** True for an absolute path in canonical form: `/`, or `/a/b` with no empty, `.` or `..` segment. */
export function isCanonicalIndexPath(path: string): boolean {
  if (path === '/') return true
  if (!path.startsWith('/') || path.endsWith('/')) return false
  return path
    .slice(1)
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..' && !segment.includes('\0'))
}

/**
 * Decodes chunk 2 and applies every check the runtime makes when it mounts the index: at most
 * {@link AOSPKG_MAX_ENTRIES} entries, canonical paths, strictly ascending byte-wise order (so no
 * duplicates), `/` present, file ranges inside the tar, symlink targets present, mtime ≥ 0.
 */
export function decodeIndex(
  bytes: Uint8Array,
  tarLength: number,
  path?: string,
): {schemaVersion: number; entries: AospkgEntry[]} {
  const d = new BareDecoder(bytes, 'index chunk', path)
  const version = schemaVersion(d, 'index chunk', path)
  const entries = d.list(
    () => {
      const entry: AospkgEntry = {
        path: d.str('entry path'),
        kind: KINDS[d.enumeration(KINDS.length, 'entry kind')]!,
        offset: d.u64('entry offset'),
        size: d.u64('entry size'),
        mode: d.u32(),
        uid: d.u32(),
        gid: d.u32(),
        mtime: d.i64('entry mtime'),
      }
      const target = d.optional(() => d.str('linkTarget'), 'linkTarget')
      if (target !== undefined) entry.linkTarget = target
      return entry
    },
    'tarEntries',
    {count: AOSPKG_MAX_ENTRIES, code: 'ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES'},
  )
  d.end()
  let previous: Buffer | undefined
  let hasRoot = false
  for (const entry of entries) {
    const where = JSON.stringify(entry.path)
    if (!isCanonicalIndexPath(entry.path)) {
      throw containerError(
        'ERR_AGENTOS_AOSPKG_PATH_INVALID',
        `index path ${where} is not a canonical absolute path`,
        path,
      )
    }
    const key = Buffer.from(entry.path)
    if (previous) {
      const order = Buffer.compare(previous, key)
      if (order === 0) {
        throw containerError('ERR_AGENTOS_AOSPKG_INDEX_DUPLICATE', `index path ${where} appears twice`, path)
      }
      if (order > 0) {
        throw containerError(
          'ERR_AGENTOS_AOSPKG_INDEX_UNSORTED',
          `the mount index is not sorted by canonical path: ${where} follows ${JSON.stringify(previous.toString())}`,
          path,
        )
      }
    }
    previous = key
    if (entry.path === '/') hasRoot = true
    if (entry.kind === 'file' && entry.offset + entry.size > tarLength) {
      throw containerError(
        'ERR_AGENTOS_AOSPKG_RANGE',
        `file ${where} spans tar bytes ${entry.offset}..${entry.offset + entry.size}, past the end of the ${tarLength}-byte tar`,
        path,
      )
    }
    if (entry.kind === 'symlink' && !entry.linkTarget) {
      throw containerError('ERR_AGENTOS_AOSPKG_SYMLINK_TARGET', `symlink ${where} has no target`, path)
    }
    if (entry.mtime < 0) {
      throw containerError(
        'ERR_AGENTOS_AOSPKG_MTIME',
        `entry ${where} has a negative mtime (${entry.mtime})`,
        path,
      )
    }
  }
  if (!hasRoot) {
    throw containerError('ERR_AGENTOS_AOSPKG_ROOT_MISSING', 'the mount index has no "/" entry', path)
  }
  return {schemaVersion: version, entries}
}

/** Encodes chunk 2; entries must already be sorted and canonical (the writer guarantees it). */
export function encodeIndex(entries: readonly AospkgEntry[], version = 1): Buffer {
  const e = new BareEncoder().u16(version)
  e.list(entries, (entry) => {
    e.str(entry.path).uvarint(KINDS.indexOf(entry.kind)).u64(entry.offset).u64(entry.size)
    e.u32(entry.mode).u32(entry.uid).u32(entry.gid).i64(entry.mtime)
    e.optional(entry.linkTarget, (target) => e.str(target))
  })
  return e.bytes()
}
