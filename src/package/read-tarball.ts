import {createHash} from 'node:crypto'
import {closeSync, createReadStream, fstatSync, openSync, readSync} from 'node:fs'
import {Parser, type ReadEntry} from 'tar'
import {AgentosError, type Problem} from '../errors.js'
import {copyHead, PE_PROBE_BYTES} from '../format/header.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {isDescriptorFile} from '../format/paths.js'
import {AOSPKG_MAX_ENTRIES, DESCRIPTOR_TEXT_LIMIT} from '../format/limits.js'
import {
  finishSnapshot,
  memberPath,
  type PackageEntry,
  type PackageSnapshot,
  type ReadOptions,
} from './snapshot.js'

/** The tar parser's own limit on gzip's decompression ratio; a member can hold no more. */
const MAX_GZIP_RATIO = 1000

/**
 * The largest member kept whole in memory (an `.aospkg` inside an npm tarball: pi's is 131 MB).
 * Past it the archive is refused with a hint, instead of the tool taking gigabytes.
 */
const KEEP_LIMIT = 512 * 1024 * 1024

const KINDS: Record<string, PackageEntry['kind']> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
}

/** Members to keep whole in memory during the pass (matched on the normalized tar path). */
export interface KeepMembers {
  match: (path: string) => boolean
  kept: Map<string, Buffer>
}

/**
 * Reads a `.tgz`/`.tar` in one streaming pass without extracting anything: headers, the JSON
 * descriptor files and (optionally) content hashes are taken as the members stream by. A single
 * top-level folder holding the package (npm's `package/`) is treated as the root. Members that
 * `keep` matches are also kept whole, so a caller can look inside one without a second pass.
 */
export async function readTarball(
  file: string,
  options: ReadOptions,
  keep?: KeepMembers,
): Promise<PackageSnapshot> {
  // What a member can really hold: a header declares any size, and a preallocation sized from it
  // crashed on a 110-byte archive claiming a 10 GB member.
  const {bytes, capacity} = archiveCapacity(file)
  const pass = await readMembers(file, options, capacity, keep).catch((error: Error) => {
    throw new AgentosError(
      'ERR_AGENTOS_TAR_CORRUPT',
      `${file} is not a readable tar archive: ${error.message}`,
      {
        hint: 'Pass a .tgz or .tar produced by npm pack or agentos-toolchain pack.',
        path: file,
        cause: error,
      },
    )
  })
  const {raw, texts, problems, fatal, oversized} = pass
  if (pass.tooMany) {
    throw new AgentosError(
      'ERR_AGENTOS_TAR_TOO_MANY_MEMBERS',
      `${file} has more than ${AOSPKG_MAX_ENTRIES} members, the most a package mounted by the runtime may have`,
      {
        hint: 'The archive is crafted, or the package needs splitting; npm packages hold a few thousand files.',
        path: file,
      },
    )
  }
  if (oversized) {
    const {path, size, limit} = oversized
    const kept = limit === KEEP_LIMIT && limit < capacity
    throw new AgentosError(
      'ERR_AGENTOS_TAR_MEMBER_TOO_LARGE',
      kept
        ? `${file}: member ${path} is ${size} bytes, more than ${KEEP_LIMIT} bytes read into memory`
        : `${file}: member ${path} declares ${size} bytes, more than the ${bytes}-byte archive can hold`,
      {
        hint: kept
          ? 'Extract the .aospkg from the tarball and pass it directly: it is then read in place.'
          : 'The archive is corrupt or crafted; rebuild it with npm pack or agentos-toolchain pack.',
        path: file,
      },
    )
  }
  // An archive whose every member leaves the root is not "empty": its problems say what it holds.
  if (fatal.length > 0 || (raw.length === 0 && problems.length === 0)) {
    throw new AgentosError(
      'ERR_AGENTOS_TAR_CORRUPT',
      `${file} is not a readable tar archive${fatal[0] ? `: ${fatal[0]}` : ' (no members)'}`,
      {hint: 'Pass a .tgz or .tar produced by npm pack or agentos-toolchain pack.', path: file},
    )
  }

  return rootedSnapshot(file, raw, texts, problems, options)
}

/** What one pass over the members gathered, with the tar paths as they are (prefix included). */
interface MemberPass {
  raw: PackageEntry[]
  texts: Map<string, string>
  problems: Problem[]
  /** The parser's warnings that mean the archive is broken. */
  fatal: string[]
  /** A member larger than it may be: the pass stopped there. */
  oversized?: {path: string; size: number; limit: number}
  /** More members than a package may have: the pass stopped there. */
  tooMany?: boolean
}

/** Streams the archive through the tar parser once, recording every member. */
function readMembers(
  file: string,
  options: ReadOptions,
  capacity: number,
  keep: KeepMembers | undefined,
): Promise<MemberPass> {
  const pass: MemberPass = {raw: [], texts: new Map(), problems: [], fatal: []}
  return new Promise<MemberPass>((resolvePromise, reject) => {
    const input = createReadStream(file)
    const parser = new Parser({
      strict: false,
      onwarn: (code: string, message: string | Error) => {
        const text = typeof message === 'string' ? message : message.message
        if (
          code === 'TAR_ENTRY_INVALID' ||
          code === 'TAR_ENTRY_ERROR' ||
          code === 'TAR_BAD_ARCHIVE' ||
          code === 'TAR_ABORT'
        ) {
          pass.fatal.push(text)
        }
      },
    })
    parser.on('entry', (entry: ReadEntry) => {
      const path = memberPath(entry.path)
      if (path === null) {
        pass.problems.push({
          code: 'ERR_AGENTOS_TAR_PATH_ESCAPES',
          severity: 'error',
          path: entry.path,
          message: `tarball member ${JSON.stringify(entry.path)} is outside the package root`,
          hint: 'Rebuild the tarball from the package directory; members must be relative without "..".',
        })
        entry.resume()
        return
      }
      const kind = KINDS[entry.type] ?? 'other'
      const record: PackageEntry = {
        path,
        kind,
        mode: (entry.mode ?? (kind === 'dir' ? 0o755 : 0o644)) & 0o7777,
        size: kind === 'file' ? (entry.size ?? 0) : 0,
      }
      const limit = keep?.match(path) ? Math.min(capacity, KEEP_LIMIT) : capacity
      if (record.size > limit) {
        // Nothing after this member can be trusted to be read in bounded memory or time.
        pass.oversized = {path: entry.path, size: record.size, limit}
        input.unpipe(parser)
        input.destroy()
        resolvePromise(pass)
        return
      }
      if (kind === 'symlink' || kind === 'hardlink') record.linkTarget = entry.linkpath ?? ''
      if (path !== '') pass.raw.push(record)
      if (pass.raw.length > AOSPKG_MAX_ENTRIES) {
        // Headers cost a few bytes compressed: a small archive can list millions of members.
        pass.tooMany = true
        input.unpipe(parser)
        input.destroy()
        resolvePromise(pass)
        return
      }
      if (kind !== 'file') {
        entry.resume()
        return
      }
      readContent(entry, record, options, pass.texts, keep)
    })
    parser.on('end', () => resolvePromise(pass))
    parser.on('error', reject)
    input.on('error', reject)
    input.pipe(parser)
  })
}

/**
 * Takes what is needed of a file member as it streams by: its head, its hash, the whole text of a
 * descriptor, and the whole member when `keep` wants it.
 */
function readContent(
  entry: ReadEntry,
  record: PackageEntry,
  options: ReadOptions,
  texts: Map<string, string>,
  keep: KeepMembers | undefined,
): void {
  const {path} = record
  const hash = options.digest ? createHash('sha256') : undefined
  const chunks: Buffer[] = []
  let kept = 0
  const keepText =
    isDescriptorFile(path) || path.endsWith(`/${MANIFEST_FILE}`) || path.endsWith('/package.json')
  // Sized from the header once, so a large member is never held twice while it is joined.
  const whole = keep?.match(path) ? Buffer.allocUnsafe(record.size) : undefined
  let filled = 0
  entry.on('data', (chunk: Buffer) => {
    hash?.update(chunk)
    if (whole) filled += chunk.copy(whole, filled)
    const limit = keepText ? DESCRIPTOR_TEXT_LIMIT : PE_PROBE_BYTES
    if (kept < limit) {
      chunks.push(chunk.subarray(0, limit - kept))
      kept += Math.min(chunk.length, limit - kept)
    }
  })
  entry.on('end', () => {
    const content = Buffer.concat(chunks)
    record.head = copyHead(content)
    if (hash) record.sha256 = hash.digest('hex')
    if (keepText && record.size <= DESCRIPTOR_TEXT_LIMIT) texts.set(path, content.toString('utf8'))
    if (whole && filled === whole.length) keep!.kept.set(path, whole)
  })
}

/** The members below the package root (npm's `package/` stripped) as a snapshot. */
function rootedSnapshot(
  file: string,
  raw: readonly PackageEntry[],
  texts: ReadonlyMap<string, string>,
  problems: Problem[],
  options: ReadOptions,
): PackageSnapshot {
  const prefix = packageRootPrefix(raw)
  const entries: PackageEntry[] = []
  const seen = new Set<string>()
  for (const entry of raw) {
    if (prefix && !(entry.path === prefix || entry.path.startsWith(`${prefix}/`))) continue
    const path = prefix ? entry.path.slice(prefix.length + 1) : entry.path
    if (path === '' || seen.has(path)) continue
    seen.add(path)
    entries.push({...entry, path})
  }
  const rootedTexts = new Map<string, string>()
  for (const [path, text] of texts) {
    const rooted = prefix ? (path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : null) : path
    if (rooted !== null && isDescriptorFile(rooted)) rootedTexts.set(rooted, text)
  }
  return finishSnapshot(
    {type: 'tarball', path: file, prefix: prefix || undefined},
    entries,
    rootedTexts,
    problems,
    options,
  )
}

/** The archive's size, and the most a member of it can hold; unbounded when it cannot be read (the read then reports why). */
function archiveCapacity(file: string): {bytes: number; capacity: number} {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const bytes = fstatSync(fd).size
    const magic = Buffer.alloc(2)
    const gzip = readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b
    return {bytes, capacity: gzip ? bytes * MAX_GZIP_RATIO : bytes}
  } catch {
    return {bytes: Number.POSITIVE_INFINITY, capacity: Number.POSITIVE_INFINITY}
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** npm tarballs hold everything under `package/`; find such a single folder holding the package. */
function packageRootPrefix(entries: readonly PackageEntry[]): string {
  if (entries.some((e) => e.path === 'package.json' || e.path === MANIFEST_FILE)) return ''
  const tops = new Set(entries.map((e) => e.path.split('/')[0]))
  if (tops.size !== 1) return ''
  const [top] = tops
  return entries.some((e) => e.path === `${top}/package.json` || e.path === `${top}/${MANIFEST_FILE}`)
    ? top!
    : ''
}
