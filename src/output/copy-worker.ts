/**
 * Worker thread of the package copier ({@link ./copy-pool.ts}). Copying a package is mostly kernel
 * time (open, write, close for every file); one thread doing it synchronously keeps up with
 * `cp -r`, and a thread per core beats it. Blocking calls are the point here: this thread has no
 * event loop to keep responsive, and the main thread never waits on it.
 *
 * Imports only Node.js builtins and pure modules (header rules, path rules, the package walk), so
 * the single binary can bundle it into a string and start it with `eval`.
 */
import {createHash} from 'node:crypto'
import {
  closeSync,
  fstatSync,
  futimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs'
import {dirname, join} from 'node:path'
import {parentPort} from 'node:worker_threads'
import {AgentosError} from '../errors.js'
import {copyHead, nativeFileKind} from '../format/header.js'
import {isDescriptorFile} from '../format/paths.js'
import {walkPackage} from './walk.js'
import {
  type CopyJob,
  type CopyOutcome,
  type CopyReport,
  type CopyTask,
  type CopyTree,
  CONTROL_ACTIVE,
  CONTROL_NEXT,
  CONTROL_STOP,
  FIXED_MTIME_SECONDS,
  REPORT_BATCH,
} from './copy-protocol.js'

const buffer = Buffer.allocUnsafe(1024 * 1024)
// The job arrives as a message, not as workerData, so that a pool can start its threads while the
// caller is still planning what to copy (see startCopyPool).
let job: CopyJob
let control: Int32Array
let keep: Set<string>
let skip: Set<string>
/** Output directories this thread made or found (a tree's files make their directories). */
const made = new Set<string>()

/** An error with the side it happened on: reading the source or writing the output. */
class Failure {
  /** For a file of a tree: its output path and source. */
  file?: {path: string; source: string}
  constructor(
    readonly side: 'read' | 'write',
    readonly error: NodeJS.ErrnoException,
  ) {}
}

function attempt<T>(side: 'read' | 'write', call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw new Failure(side, error as NodeJS.ErrnoException)
  }
}

const stopped = () => Atomics.load(control, CONTROL_STOP) !== 0

function writeAll(output: number, bytes: Uint8Array, hash: ReturnType<typeof createHash>): void {
  hash.update(bytes)
  for (let offset = 0; offset < bytes.length;) {
    offset += attempt('write', () => writeSync(output, bytes, offset, bytes.length - offset))
  }
}

function copyOne(file: CopyTask, index: number): CopyOutcome {
  const destination = join(job.dir, file.path)
  const hash = createHash('sha256')
  if (typeof file.source !== 'string') {
    const bytes = file.source
    const mode = file.executable ? 0o755 : 0o644
    const output = attempt('write', () => openSync(destination, 'wx', mode))
    try {
      writeAll(output, bytes, hash)
      attempt('write', () => futimesSync(output, FIXED_MTIME_SECONDS, FIXED_MTIME_SECONDS))
    } finally {
      closeSync(output)
    }
    const text = file.text ? Buffer.from(bytes).toString('utf8') : undefined
    return {index, mode, size: bytes.length, head: copyHead(bytes), sha256: hash.digest('hex'), text}
  }
  const source = file.source
  const input = attempt('read', () => openSync(source, 'r'))
  try {
    const info = attempt('read', () => fstatSync(input))
    const mode = (file.executable ?? (info.mode & 0o111) !== 0) ? 0o755 : 0o644
    let bytesRead = attempt('read', () => readSync(input, buffer, 0, buffer.length, null))
    const head = copyHead(buffer.subarray(0, bytesRead))
    // Decided on the first bytes, before the output exists: a pruned file is never written.
    if (job.pruneNative && !keep.has(file.path) && nativeFileKind(file.path, head) !== undefined)
      return {index, mode, size: info.size, head, sha256: '', skipped: true}
    const output = attempt('write', () => openSync(destination, 'wx', mode))
    let size = 0
    try {
      while (bytesRead > 0 && !stopped()) {
        writeAll(output, buffer.subarray(0, bytesRead), hash)
        size += bytesRead
        if (bytesRead < buffer.length) break
        bytesRead = attempt('read', () => readSync(input, buffer, 0, buffer.length, null))
      }
      attempt('write', () => futimesSync(output, FIXED_MTIME_SECONDS, FIXED_MTIME_SECONDS))
    } finally {
      closeSync(output)
    }
    let text: string | undefined
    if (file.text)
      text = size <= buffer.length ? buffer.toString('utf8', 0, size) : readFileSync(destination, 'utf8')
    return {index, mode, size, head, sha256: hash.digest('hex'), text}
  } finally {
    closeSync(input)
  }
}

/** Makes an output directory and those above it, up to the job's root (which exists). */
function makeDirectory(path: string): void {
  if (path === '.' || made.has(path)) return
  makeDirectory(dirname(path))
  try {
    mkdirSync(join(job.dir, path), 0o755)
  } catch (error) {
    // Another thread, or the main thread for a file given by path, may have made it first.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new Failure('write', error as NodeJS.ErrnoException)
  }
  made.add(path)
}

/**
 * Walks one package and copies each file it lists as it goes. Every file makes its directory, even
 * one pruned afterwards, so the tree has exactly the directories a list of the same files would
 * have made (files.ts makes the directories of every planned file). A file the job also has by
 * path is left to that entry.
 */
function copyTree(tree: CopyTree, report: (outcome: CopyOutcome) => void): void {
  const visit = (rel: string) => {
    if (stopped()) throw new Stopped()
    const path = `${tree.out}/${rel}`
    if (skip.has(path) || tree.exclude?.includes(rel)) return
    const source = join(tree.source, rel)
    try {
      makeDirectory(dirname(path))
      report({...copyOne({path, source, text: isDescriptorFile(path)}, -1), path})
    } catch (error) {
      if (error instanceof Failure) error.file = {path, source}
      throw error
    }
  }
  try {
    walkPackage(tree.source, visit)
  } catch (error) {
    if (error instanceof Stopped) return
    if (error instanceof Failure || error instanceof AgentosError) throw error
    // The walk codes what it can (links, directories it cannot list); what is left, such as a
    // link target that cannot be stat'ed, is the input's fault too.
    const failure = new Failure('read', error as NodeJS.ErrnoException)
    failure.file = {path: tree.out, source: (error as NodeJS.ErrnoException).path ?? tree.source}
    throw failure
  }
}

/** Ends a tree's walk when every thread is told to stop. */
class Stopped {}

function post(report: CopyReport): void {
  parentPort!.postMessage(report)
}

function work(): void {
  let done: CopyOutcome[] = []
  let index = -1
  try {
    const report = (outcome: CopyOutcome) => {
      done.push(outcome)
      if (done.length >= REPORT_BATCH) {
        post({type: 'copied', outcomes: done})
        done = []
      }
    }
    while (!stopped()) {
      index = Atomics.add(control, CONTROL_NEXT, 1)
      if (index < job.files.length) report(copyOne(job.files[index]!, index))
      else if (index < job.files.length + job.trees.length)
        copyTree(job.trees[index - job.files.length]!, report)
      else break
    }
    post({type: 'copied', outcomes: done})
  } catch (error) {
    // The first failure stops every thread: nothing more is written into a tree about to be discarded.
    Atomics.store(control, CONTROL_STOP, 1)
    post({type: 'copied', outcomes: done})
    if (error instanceof AgentosError) {
      post({
        type: 'refused',
        error: {code: error.code, message: error.message, hint: error.hint, path: error.path},
      })
      return
    }
    if (!(error instanceof Failure)) throw error
    const {code, errno, syscall, path, message} = error.error
    post({
      type: 'failed',
      index: error.file ? -1 : index,
      ...error.file,
      side: error.side,
      error: {code, errno, syscall, path, message},
    })
  } finally {
    // The main thread may be waiting (from a signal handler) for every thread to stop writing.
    Atomics.sub(control, CONTROL_ACTIVE, 1)
    Atomics.notify(control, CONTROL_ACTIVE)
  }
}

parentPort!.once('message', (message: CopyJob) => {
  job = message
  control = new Int32Array(job.control)
  keep = new Set(job.keep)
  skip = new Set(job.skip)
  work()
})
