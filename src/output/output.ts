import {createHash, randomBytes} from 'node:crypto'
import {
  close as fsClose,
  existsSync,
  mkdirSync,
  fstat as fsFstat,
  futimes as fsFutimes,
  lstatSync,
  open as fsOpen,
  read as fsRead,
  readdirSync,
  renameSync,
  rmSync,
  type Stats,
  utimesSync,
  write as fsWrite,
} from 'node:fs'
import {lstat, mkdir, readdir, readFile, realpath, rename, rm, utimes, writeFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {compareBytes} from '../format/byte-order.js'
import {mapLimit} from '../util/map-limit.js'
import {AgentosError, isAgentosError} from '../errors.js'
import {canCopyInWorkers, type CopyPool, copyInWorkers, stopCopiesSync} from './copy-pool.js'
import {type CopyTree, FIXED_MTIME_SECONDS} from './copy-protocol.js'
import {listPackage} from './walk.js'
import {copyHead, nativeFileKind} from '../format/header.js'
import {normalizePackagePath, OUTPUT_MARKER} from '../format/paths.js'
import {finishSnapshot, type PackageEntry, type PackageSnapshot} from '../package/snapshot.js'
import {isDescriptorFile} from '../format/paths.js'
import {isWithin} from '../util/paths.js'

/**
 * Every file and directory a package output contains gets this mtime, so two runs over the same
 * inputs give byte-identical trees and tarballs (the same instant npm uses in its tarballs).
 */
export const FIXED_MTIME = new Date(FIXED_MTIME_SECONDS * 1000)

/** Temp siblings are named `.<target>.agentos-tmp-<pid>-<random>`: recognisably ours. */
const TEMP_MARK = '.agentos-tmp-'
const OLD_MARK = '.agentos-old-'

/**
 * The target's name as its siblings carry it. A name near NAME_MAX (255 bytes) would make
 * `.<name>.agentos-tmp-<pid>-<hex>` impossible to create, so a long one is cut to a prefix plus a
 * hash of the whole name: still unique per target, so one target never touches another's siblings.
 */
function siblingStem(base: string): string {
  if (Buffer.byteLength(base) <= 160) return base
  return `${base.slice(0, 40)}~${createHash('sha256').update(base).digest('hex').slice(0, 16)}`
}

function siblingPath(target: string, mark: string): string {
  return join(
    dirname(target),
    `.${siblingStem(basename(target))}${mark}${process.pid}-${randomBytes(4).toString('hex')}`,
  )
}

function siblingPattern(base: string, marks: readonly string[]): RegExp {
  const alternatives = marks.map(escapeRegExp).join('|')
  return new RegExp(`^\\.${escapeRegExp(siblingStem(base))}(${alternatives})(\\d+)-[0-9a-f]+$`)
}

/** What this process has staged, by staging dir: during a commit, also the target set aside. */
const live = new Map<string, {target: string; aside?: string}>()

/**
 * Signals end the process without running `finally` blocks, so an interrupted run would leave its
 * temp sibling behind and, mid-commit, no target at all (the previous output set aside). While
 * something is staged, a signal first puts the previous output back and removes what is ours,
 * then exits as the signal would have (128 + its number). `exit` covers a process.exit() elsewhere
 * (e.g. a progress renderer's own SIGINT handler).
 */
const PAUSE = new Int32Array(new SharedArrayBuffer(4))

/**
 * Removes a tree from a signal handler. Writes and mkdirs already handed to libuv's thread pool
 * keep landing while the handler runs (no new ones can start), so a directory can gain an entry
 * after its children were removed; rmSync's own retries repeat only the final rmdir, so the whole
 * removal is repeated until they have drained.
 */
function removeTreeSync(path: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(path, {recursive: true, force: true})
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || attempt === 50) throw error
      Atomics.wait(PAUSE, 0, 0, 10)
    }
  }
}

function cleanUpSync(): void {
  // Worker threads copying into a staging tree would keep adding to it while it is removed.
  stopCopiesSync()
  for (const [dir, {target, aside}] of live) {
    try {
      if (aside) {
        if (existsSync(target)) removeTreeSync(aside)
        else renameSync(aside, target)
      }
      removeTreeSync(dir)
    } catch {
      // Best effort: whatever is left is recognisably ours and the next run restores or removes it.
    }
  }
  live.clear()
}

const SIGNAL_HANDLERS = (
  [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const
).map(([signal, status]) => ({
  signal,
  handler: () => {
    cleanUpSync()
    process.exit(status)
  },
}))

function track(dir: string, target: string): void {
  live.set(dir, {target})
  if (live.size > 1) return
  // Prepended: another listener that exits first (listr2 does on SIGINT) would skip the cleanup.
  for (const {signal, handler} of SIGNAL_HANDLERS) process.prependListener(signal, handler)
  process.on('exit', cleanUpSync)
}

function untrack(dir: string): void {
  if (!live.delete(dir) || live.size > 0) return
  for (const {signal, handler} of SIGNAL_HANDLERS) process.removeListener(signal, handler)
  process.removeListener('exit', cleanUpSync)
}

/** True for a sibling that a run of this process is still using. */
function isOurs(path: string): boolean {
  for (const [dir, {aside}] of live) if (dir === path || aside === path) return true
  return false
}

/** Options of {@link checkTarget}. */
export interface TargetOptions {
  /** Replace a non-empty directory that is not an earlier package output. */
  force?: boolean
  /** Directories the output is built from: the target may neither be nor contain them. */
  sources?: string[]
}

/** What {@link checkTarget} found at the target path. */
export type TargetState = 'absent' | 'empty' | 'package' | 'foreign'

/**
 * Decides whether a package may be written at `target`, before anything is written. Refuses a
 * target that is a file, that is (or contains) a source, that is a filesystem root, or that is a
 * non-empty directory which is not an earlier package output (unless `force`).
 */
export async function checkTarget(target: string, options: TargetOptions = {}): Promise<TargetState> {
  const absolute = resolve(target)
  await restoreInterruptedCommit(absolute)
  const real = await realpath(absolute).catch(() => absolute)
  if (dirname(real) === real) {
    throw new AgentosError('ERR_AGENTOS_OUT_IS_ROOT', `refusing to write a package at ${real}`, {
      hint: 'Pass --out naming a new directory, e.g. ./my-tool-package.',
      path: target,
    })
  }
  for (const source of options.sources ?? []) {
    const realSource = await realpath(resolve(source)).catch(() => resolve(source))
    if (realSource === real || isInside(real, realSource)) {
      throw new AgentosError(
        'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
        `the output ${target} ${realSource === real ? 'is' : 'contains'} the source ${source}`,
        {hint: 'Write the package to a separate directory with --out.', path: target},
      )
    }
  }
  const info = await lstat(real).catch(() => undefined)
  if (!info) return 'absent'
  if (!info.isDirectory()) {
    throw new AgentosError('ERR_AGENTOS_OUT_IS_FILE', `the output ${target} exists and is not a directory`, {
      hint: 'Remove the file or pass another --out.',
      path: target,
    })
  }
  const names = await readdir(real)
  if (names.length === 0) return 'empty'
  if (names.includes(OUTPUT_MARKER) && (await isUnchangedOutput(real))) return 'package'
  if (options.force) return 'foreign'
  throw new AgentosError(
    'ERR_AGENTOS_OUT_NOT_EMPTY',
    `the output ${target} is a non-empty directory that is not an unchanged earlier output of this tool`,
    {
      hint: names.includes(OUTPUT_MARKER)
        ? 'Files were added to or changed in that earlier output; move them out, pass another --out, or --force to replace it.'
        : 'Pass an empty or new directory with --out, or --force to replace it.',
      path: target,
    },
  )
}

/**
 * Writes the {@link OUTPUT_MARKER} into a staged package, recording its tree digest. Stamped like
 * everything else in the package, its directory too (creating the file changed its mtime).
 */
export async function writeOutputMarker(dir: string, digest: string): Promise<void> {
  const file = join(dir, OUTPUT_MARKER)
  await writeFile(file, `${JSON.stringify({tool: 'agentos-toolchain', digest})}\n`)
  await utimes(file, FIXED_MTIME, FIXED_MTIME)
  await utimes(dir, FIXED_MTIME, FIXED_MTIME)
}

/**
 * True when `dir` provably is an output of pack or assemble-wasm with nothing added or changed:
 * its marker is ours, and either every entry still has the fixed mtime they were written with (a
 * file added, removed or renamed changes its directory's mtime; an edit, the file's own), or,
 * where mtimes were lost (a git checkout, a copy), the tree digest equals the recorded one. Only
 * then is it replaced without `--force`: a project that merely looks like a package (a
 * package.json with a bin map and an agentos-package.json) is never taken for one.
 */
async function isUnchangedOutput(dir: string): Promise<boolean> {
  let marker: {tool?: unknown; digest?: unknown}
  try {
    marker = JSON.parse(await readFile(join(dir, OUTPUT_MARKER), 'utf8')) as typeof marker
  } catch {
    return false
  }
  if (marker?.tool !== 'agentos-toolchain' || typeof marker.digest !== 'string') return false
  if (mtimesAreFixed(dir)) return true
  const {readPackage} = await import('../package/read.js')
  const snapshot = await readPackage(dir, {digest: true}).catch(() => undefined)
  return snapshot !== undefined && snapshot.problems.length === 0 && snapshot.digest === marker.digest
}

function mtimesAreFixed(dir: string): boolean {
  const pending = [dir]
  while (pending.length > 0) {
    const path = pending.pop()!
    const info = lstatSync(path)
    if (Math.floor(info.mtimeMs / 1000) !== FIXED_MTIME_SECONDS) return false
    if (info.isDirectory()) for (const name of readdirSync(path)) pending.push(join(path, name))
    else if (!info.isFile()) return false
  }
  return true
}

function isInside(parent: string, child: string): boolean {
  return child !== parent && isWithin(parent, child)
}

/** A staging directory next to the target, committed into place with {@link commitStaging}. */
export interface Staging {
  dir: string
  target: string
}

/**
 * Creates the temp sibling a package is built in (same filesystem as the target, so the final
 * rename is atomic), removing stale temp siblings that earlier, killed runs left behind.
 */
export async function createStaging(target: string): Promise<Staging> {
  const absolute = resolve(target)
  const parent = dirname(absolute)
  await mkdir(parent, {recursive: true}).catch((error: NodeJS.ErrnoException) => {
    throw outputError(error, parent)
  })
  await restoreInterruptedCommit(absolute)
  await removeStaleSiblings(parent, basename(absolute))
  const dir = siblingPath(absolute, TEMP_MARK)
  // Tracked before it exists: a signal arriving as mkdir returns must still find it to remove.
  track(dir, absolute)
  await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    untrack(dir)
    throw outputError(error, parent)
  })
  return {dir, target: absolute}
}

/** True when a sibling's owner may still be using it (a live run of this or another process). */
function inUse(path: string, pid: number): boolean {
  return pid === process.pid ? isOurs(path) : isAlive(pid)
}

async function removeStaleSiblings(parent: string, base: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[])
  const pattern = siblingPattern(base, [TEMP_MARK, OLD_MARK])
  for (const name of names) {
    const match = pattern.exec(name)
    if (!match || inUse(join(parent, name), Number(match[2]))) continue
    await rm(join(parent, name), {recursive: true, force: true})
  }
}

/**
 * A run killed between the two renames of a commit leaves no target, the previous output set aside
 * as `.<target>.agentos-old-<pid>-<hex>` and the new one in its temp sibling: the previous output
 * is put back, so the target is again exactly as it was before that run.
 */
async function restoreInterruptedCommit(target: string): Promise<void> {
  if (await lstat(target).catch(() => undefined)) return
  const parent = dirname(target)
  const pattern = siblingPattern(basename(target), [OLD_MARK])
  const names = (await readdir(parent).catch(() => [] as string[])).sort()
  for (const name of names) {
    const match = pattern.exec(name)
    if (!match || inUse(join(parent, name), Number(match[2]))) continue
    if (
      await rename(join(parent, name), target).then(
        () => true,
        () => false,
      )
    )
      return
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

// Another run committing into the same target at the same moment makes a rename fail: ENOTEMPTY or
// EEXIST when it put its package in place first, ENOENT when it moved the target aside first.
const RACE_CODES = new Set(['ENOTEMPTY', 'EEXIST', 'ENOENT'])
const COMMIT_ATTEMPTS = 5

/**
 * Moves the finished staging directory into place. An existing target (already vetted by
 * {@link checkTarget}) is first renamed aside and removed only after the new tree is in place.
 * When another run commits into the same target at once, this one looks again and retries, so the
 * target ends up holding one complete package (the last one committed).
 */
export async function commitStaging(staging: Staging): Promise<void> {
  const {dir, target} = staging
  const state = live.get(dir) ?? {target}
  for (let attempt = 1; ; attempt++) {
    const retry = (error: unknown) =>
      attempt < COMMIT_ATTEMPTS && RACE_CODES.has((error as NodeJS.ErrnoException).code ?? '')
    if (!(await lstat(target).catch(() => undefined))) {
      try {
        await rename(dir, target)
        break
      } catch (error) {
        if (retry(error)) continue
        throw error
      }
    }
    const aside = siblingPath(target, OLD_MARK)
    try {
      await rename(target, aside)
    } catch (error) {
      if (retry(error)) continue
      throw error
    }
    state.aside = aside
    try {
      await rename(dir, target)
    } catch (error) {
      // Put the previous output back. If another run filled the target meanwhile this fails and
      // the aside stays for the next run to clear: the target then holds that run's package.
      await rename(aside, target).catch(() => undefined)
      state.aside = undefined
      if (retry(error)) continue
      throw error
    }
    await rm(aside, {recursive: true, force: true})
    state.aside = undefined
    break
  }
  untrack(dir)
}

/** Removes a staging directory after a failure (the target was never touched). */
export async function discardStaging(staging: Staging): Promise<void> {
  await rm(staging.dir, {recursive: true, force: true})
  untrack(staging.dir)
}

/**
 * Turns a filesystem error while writing output into a coded error. An error that is already
 * coded (an unreadable source file met while copying) is returned as it is: it says more.
 */
export function outputError(error: NodeJS.ErrnoException, path: string): AgentosError {
  if (isAgentosError(error)) return error
  const code =
    error.code === 'ENOSPC'
      ? 'ERR_AGENTOS_OUT_NO_SPACE'
      : error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS'
        ? 'ERR_AGENTOS_OUT_DENIED'
        : 'ERR_AGENTOS_OUT_WRITE_FAILED'
  const hint =
    code === 'ERR_AGENTOS_OUT_NO_SPACE'
      ? 'Free disk space or pass --out on another filesystem; nothing was changed.'
      : code === 'ERR_AGENTOS_OUT_DENIED'
        ? 'Pass --out in a directory you can write to; nothing was changed.'
        : 'Check the output location; nothing was changed.'
  return new AgentosError(code, `cannot write ${path}: ${error.code ?? error.message}`, {
    hint,
    path,
    cause: error,
  })
}

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
  for (const path of given) mkdirSync(join(dir, path))

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

/**
 * JSON as the package files are written: two-space indent, trailing newline, and the keys of the
 * given maps (bin, env) sorted so that equal inputs give equal bytes.
 */
export function packageJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** Returns a copy of a string map with its keys in byte order. */
export function sortedMap<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => compareBytes(a, b)))
}
