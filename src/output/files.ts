/**
 * Writes the files of a package into a staging directory, on the event loop or on copy threads,
 * and returns the snapshot of what was written.
 */
import {createHash} from 'node:crypto'
import {
  close as fsClose,
  fstat as fsFstat,
  futimes as fsFutimes,
  mkdirSync,
  open as fsOpen,
  read as fsRead,
  type Stats,
  utimesSync,
  write as fsWrite,
} from 'node:fs'
import {readFile, utimes, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {compareBytes} from '../format/byte-order.js'
import {mapLimit} from '../util/map-limit.js'
import {AgentosError} from '../errors.js'
import {canCopyInWorkers, type CopyPool, copyInWorkers} from './copy-pool.js'
import {type CopyTree, FIXED_MTIME_SECONDS} from './copy-protocol.js'
import {listPackage} from './walk.js'
import {copyHead, nativeFileKind} from '../format/header.js'
import {normalizePackagePath} from '../format/paths.js'
import {finishSnapshot, type PackageEntry, type PackageSnapshot} from '../package/snapshot.js'
import {isDescriptorFile} from '../format/paths.js'

/**
 * Every file and directory a package output contains gets this mtime, so two runs over the same
 * inputs give byte-identical trees and tarballs (the same instant npm uses in its tarballs).
 */
export const FIXED_MTIME = new Date(FIXED_MTIME_SECONDS * 1000)

/** One file of a package being written: where its bytes come from and whether it is executable. */
export interface OutputFile {
  /** Package-relative destination path. */
  path: string
  /** Absolute source file, or the bytes themselves. */
  source: string | Uint8Array
  /** Executable (0755) or not (0644); for a source file, undefined means "as the source is". */
  executable?: boolean
}

const COPY_LANES = 32
const CHUNK = 256 * 1024
/** Below this many files, starting worker threads costs more than it saves. */
const THREADED_MIN_FILES = 200

/** Options of {@link writePackageFiles}. */
export interface WriteOptions {
  /** Leave out native code, recognised from the first bytes, except the files in `keep`. */
  pruneNative?: {keep: readonly string[]}
  /**
   * Worker threads to copy on: 0 copies on the main thread's event loop; the default uses one per
   * core for trees of more than a few hundred files, when this build has the worker.
   */
  threads?: number
  /**
   * Copy threads already started (see startCopyPool): used whatever the size of the tree, since
   * their start is paid for. The caller disposes of the pool if this call never gets to it.
   */
  pool?: CopyPool
  /**
   * Package directories to copy whole (as pack/walk.ts lists them), besides `files`; a path in
   * `files` wins over the same path in a tree. Copy threads walk them as they copy; without
   * threads they are listed first.
   */
  trees?: readonly CopyTree[]
}

/** Result of {@link writePackageFiles}: what was written, and the source files skipped. */
export interface WrittenPackage {
  snapshot: PackageSnapshot
  skipped: PackageEntry[]
}

/**
 * Writes files into a staging directory with normalized modes (0644/0755) and the fixed mtime,
 * hashing each one as it streams through a fixed set of buffers, and returns the snapshot of what
 * was written — so the validator and the digest need no second pass, and memory stays bounded
 * however large the tree.
 */
export async function writePackageFiles(
  dir: string,
  files: readonly OutputFile[],
  options: WriteOptions = {},
): Promise<WrittenPackage> {
  const workers = options.threads !== 0 && (options.pool !== undefined || canCopyInWorkers())
  let trees = options.trees ?? []
  for (const tree of trees) {
    const checked = normalizePackagePath(tree.out)
    if (!('path' in checked) || checked.path !== tree.out)
      throw new Error(`unnormalized output path ${tree.out}`)
  }
  if (trees.length > 0 && !workers) {
    // No copy threads to walk them: listed here, as files like any other.
    const given = new Set(files.map((file) => file.path))
    const listed = trees.flatMap(({source, out, exclude}) =>
      listPackage(source)
        .filter((rel) => !exclude?.includes(rel))
        .map((rel): OutputFile => ({path: `${out}/${rel}`, source: join(source, rel)}))
        .filter((file) => !given.has(file.path)),
    )
    files = [...files, ...listed]
    trees = []
  }
  const sorted = [...files].sort((a, b) => compareBytes(a.path, b.path))
  sorted.forEach((file, index) => {
    // Callers plan normalized, unique paths; anything else is a bug upstream, not user input.
    const checked = normalizePackagePath(file.path)
    if (!('path' in checked) || checked.path !== file.path)
      throw new Error(`unnormalized output path ${file.path}`)
    if (index > 0 && sorted[index - 1]!.path === file.path)
      throw new Error(`duplicate output path ${file.path}`)
  })
  // Blocking calls: a closure has thousands of directories, and a promise per mkdir cost several
  // times the mkdir itself. (The copy threads make the directories of the files they find in trees.)
  const given = directoriesOf(sorted.map((file) => file.path))
  for (const path of given) mkdirSync(join(dir, path), 0o755)

  const threaded =
    workers && (options.pool !== undefined || trees.length > 0 || sorted.length >= THREADED_MIN_FILES)
  const threads = options.threads ?? (threaded ? undefined : 0)
  const texts = new Map<string, string>()
  const written =
    threads === 0
      ? await copyOnEventLoop(dir, sorted, texts, options.pruneNative)
      : await copyOnThreads(dir, sorted, texts, {...options, threads, trees})
  // Every file made its directory, also one pruned afterwards (so a tree walked by the threads has
  // the directories a list of its files would have had). Without trees those are the ones above.
  const dirs = trees.length > 0 ? directoriesOf(written.map((entry) => entry.path)) : given
  // Directory mtimes last (writing into a directory changes its mtime), contents before their
  // directory.
  for (let i = dirs.length - 1; i >= 0; i--) utimesSync(join(dir, dirs[i]!), FIXED_MTIME, FIXED_MTIME)
  utimesSync(dir, FIXED_MTIME, FIXED_MTIME)
  const dirEntries: PackageEntry[] = dirs.map((path) => ({path, kind: 'dir', mode: 0o755, size: 0}))
  const kept = written.filter((entry) => !entry.skipped)
  const skipped = written
    .filter((entry) => entry.skipped)
    .map(({skipped: _skipped, ...entry}) => entry)
    .sort((a, b) => compareBytes(a.path, b.path))
  const snapshot = finishSnapshot({type: 'directory', path: dir}, [...dirEntries, ...kept], texts, [], {
    digest: true,
  })
  // Trees never overlap each other or the files given by path; two entries for one path are a bug.
  snapshot.entries.forEach((entry, index) => {
    if (index > 0 && snapshot.entries[index - 1]!.path === entry.path)
      throw new Error(`duplicate output path ${entry.path}`)
  })
  return {snapshot, skipped}
}

/**
 * Every directory on the way to the given paths, in byte order, where a directory comes before
 * everything inside it. Each one's ancestors are added with it, so a climb stops at the first
 * directory already known.
 */
function directoriesOf(paths: readonly string[]): string[] {
  const known = new Set<string>()
  for (const path of paths) {
    for (let parent = dirname(path); parent !== '.' && !known.has(parent); parent = dirname(parent))
      known.add(parent)
  }
  return [...known].sort(compareBytes)
}

type WrittenEntry = PackageEntry & {skipped?: boolean}

/** Decides from a file's first bytes that it is not to be written. */
type SkipFile = (path: string, head: Buffer) => boolean

async function copyOnEventLoop(
  dir: string,
  sorted: readonly OutputFile[],
  texts: Map<string, string>,
  pruneNative: WriteOptions['pruneNative'],
): Promise<WrittenEntry[]> {
  const keep = new Set(pruneNative?.keep)
  const skip = pruneNative
    ? (path: string, head: Buffer) => !keep.has(path) && nativeFileKind(path, head) !== undefined
    : undefined
  const buffers: Buffer[] = Array.from({length: COPY_LANES}, () => Buffer.allocUnsafe(CHUNK))
  return mapLimit(sorted, COPY_LANES, async (file) => {
    const buffer = buffers.pop()!
    try {
      const entry = await writeOne(join(dir, file.path), file, buffer, skip)
      if (!entry.skipped && isDescriptorFile(file.path))
        texts.set(file.path, await readFile(join(dir, file.path), 'utf8'))
      return entry
    } finally {
      buffers.push(buffer)
    }
  })
}

async function copyOnThreads(
  dir: string,
  sorted: readonly OutputFile[],
  texts: Map<string, string>,
  options: Pick<WriteOptions, 'pruneNative' | 'pool' | 'threads' | 'trees'>,
): Promise<WrittenEntry[]> {
  const {pruneNative, pool} = options
  const tasks = sorted.map((file) => ({...file, text: isDescriptorFile(file.path)}))
  const copyOptions = {
    pruneNative: pruneNative !== undefined,
    keep: pruneNative?.keep ?? [],
    threads: options.threads,
    trees: options.trees,
  }
  const copied = pool ? pool.copy(dir, tasks, copyOptions) : copyInWorkers(dir, tasks, copyOptions)
  const outcomes = await copied.catch(
    (error: NodeJS.ErrnoException & {side?: string; index?: number; file?: {source: string}}) => {
      if (error.side !== 'read') throw error
      throw unreadableSource(error.file?.source ?? (sorted[error.index!]!.source as string), error)
    },
  )
  return outcomes.map((outcome) => {
    const path = outcome.index >= 0 ? sorted[outcome.index]!.path : outcome.path!
    if (outcome.text !== undefined) texts.set(path, outcome.text)
    const head = Buffer.from(outcome.head.buffer, outcome.head.byteOffset, outcome.head.byteLength)
    const entry: WrittenEntry = fileEntry(path, outcome.mode, outcome.size, head, outcome.sha256)
    if (outcome.skipped) entry.skipped = true
    return entry
  })
}

/** A source that cannot be read is the input's fault: reported as such, not as "cannot write". */
/** Only a source file can fail to be read: bytes given in memory are never read. */
function unreadableSource(source: string, error: NodeJS.ErrnoException): AgentosError {
  return new AgentosError(
    'ERR_AGENTOS_SOURCE_UNREADABLE',
    `cannot read ${source}: ${error.code ?? error.message}`,
    {
      hint: 'Make the file readable (chmod u+r), or leave it out of the package; nothing was written.',
      path: source,
      cause: error,
    },
  )
}

async function writeOne(
  destination: string,
  file: OutputFile,
  buffer: Buffer,
  skip?: SkipFile,
): Promise<WrittenEntry> {
  const hash = createHash('sha256')
  if (typeof file.source !== 'string') {
    const bytes = Buffer.from(file.source)
    const mode = file.executable ? 0o755 : 0o644
    await writeFile(destination, bytes, {mode})
    await utimes(destination, FIXED_MTIME, FIXED_MTIME)
    return fileEntry(file.path, mode, bytes.length, copyHead(bytes), hash.update(bytes).digest('hex'))
  }
  const source = file.source
  const unreadable = (error: NodeJS.ErrnoException) => unreadableSource(source, error)
  // Plain descriptors rather than fs/promises FileHandles: on a 15,000-file closure the handles'
  // bookkeeping cost the main thread more than a quarter of the copy (measured with --cpu-prof).
  const input = await fd.open(source, 'r').catch((error: NodeJS.ErrnoException) => {
    throw unreadable(error)
  })
  const readChunk = () =>
    fd.read(input, buffer).catch((error: NodeJS.ErrnoException) => {
      throw unreadable(error)
    })
  try {
    const info = await fd.fstat(input)
    const mode = (file.executable ?? (info.mode & 0o111) !== 0) ? 0o755 : 0o644
    let bytesRead = await readChunk()
    const head = copyHead(buffer.subarray(0, bytesRead))
    // Decided on the first bytes, before the output exists: a pruned file is never written.
    if (skip?.(file.path, head)) return {...fileEntry(file.path, mode, info.size, head, ''), skipped: true}
    const output = await fd.open(destination, 'wx', mode)
    try {
      let size = 0
      while (bytesRead > 0) {
        const chunk = buffer.subarray(0, bytesRead)
        hash.update(chunk)
        await fd.writeAll(output, chunk)
        size += bytesRead
        if (bytesRead < buffer.length) break
        bytesRead = await readChunk()
      }
      await fd.futimes(output, FIXED_MTIME, FIXED_MTIME)
      return fileEntry(file.path, mode, size, head, hash.digest('hex'))
    } finally {
      await fd.close(output)
    }
  } finally {
    await fd.close(input)
  }
}

/** Callback-style descriptor calls as promises (one threadpool request each, no FileHandle). */
const fd = {
  open: (path: string, flags: string, mode?: number) =>
    new Promise<number>((resolve, reject) =>
      fsOpen(path, flags, mode, (error, value) => (error ? reject(error) : resolve(value))),
    ),
  fstat: (descriptor: number) =>
    new Promise<Stats>((resolve, reject) =>
      fsFstat(descriptor, (error, value) => (error ? reject(error) : resolve(value))),
    ),
  read: (descriptor: number, buffer: Buffer) =>
    new Promise<number>((resolve, reject) =>
      fsRead(descriptor, buffer, 0, buffer.length, null, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    ),
  async writeAll(descriptor: number, chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      offset += await new Promise<number>((resolve, reject) =>
        fsWrite(descriptor, chunk, offset, chunk.length - offset, null, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      )
    }
  },
  futimes: (descriptor: number, atime: Date, mtime: Date) =>
    new Promise<void>((resolve, reject) =>
      fsFutimes(descriptor, atime, mtime, (error) => (error ? reject(error) : resolve())),
    ),
  close: (descriptor: number) =>
    new Promise<void>((resolve, reject) =>
      fsClose(descriptor, (error) => (error ? reject(error) : resolve())),
    ),
}

function fileEntry(path: string, mode: number, size: number, head: Buffer, sha256: string): PackageEntry {
  return {path, kind: 'file', mode, size, head, sha256}
}
