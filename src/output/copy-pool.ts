import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'
import {AgentosError} from '../errors.js'
import {distFile} from '../util/dist-file.js'
import {
  type CopyJob,
  type CopyOutcome,
  type CopyReport,
  type CopyTask,
  type CopyTree,
  CONTROL_ACTIVE,
  CONTROL_SLOTS,
  CONTROL_STOP,
} from './copy-protocol.js'

/** The worker's code as one CJS string, inlined by the single binary's build (`define`). */
declare const AGENTOS_COPY_WORKER_SOURCE: string | undefined

/** How {@link copyInWorkers} starts a worker, or undefined when this build has no worker code. */
function workerEntry(): {code: string} | {url: URL} | undefined {
  if (typeof AGENTOS_COPY_WORKER_SOURCE === 'string') return {code: AGENTOS_COPY_WORKER_SOURCE}
  const file = distFile('output/copy-worker.js')
  return existsSync(file) ? {url: pathToFileURL(file)} : undefined
}

/** Control arrays of the copies in flight, for {@link stopCopiesSync}. */
const running = new Set<Int32Array>()

/**
 * Stops every copy in flight and waits (up to `timeoutMs`) until no worker thread writes any more.
 * For signal handlers, which remove the staging tree the workers write into and cannot await.
 */
export function stopCopiesSync(timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs
  for (const control of running) {
    Atomics.store(control, CONTROL_STOP, 1)
    for (let active = Atomics.load(control, CONTROL_ACTIVE); active > 0;) {
      const left = deadline - Date.now()
      if (left <= 0) return
      Atomics.wait(control, CONTROL_ACTIVE, active, left)
      active = Atomics.load(control, CONTROL_ACTIVE)
    }
  }
}

/** True when {@link copyInWorkers} can run in this build. */
export function canCopyInWorkers(): boolean {
  return workerEntry() !== undefined
}

/** Options of {@link copyInWorkers}. */
export interface CopyInWorkersOptions {
  pruneNative: boolean
  /** Paths never pruned. */
  keep: readonly string[]
  /** Worker threads; default one per core, at most 4. */
  threads?: number
  /** Package directories the threads list and copy themselves, leaving alone the paths in `files`. */
  trees?: readonly CopyTree[]
}

/** Copy threads started ahead of the one job they serve (see {@link startCopyPool}). */
export interface CopyPool {
  readonly threads: number
  /** Runs the pool's job; the contract of {@link copyInWorkers}. A pool serves one job. */
  copy(dir: string, files: CopyTask[], options: Omit<CopyInWorkersOptions, 'threads'>): Promise<CopyOutcome[]>
  /** Ends the threads if they were never given their job; harmless after {@link CopyPool.copy}. */
  dispose(): void
}

/**
 * Starts the copy threads before the files to copy are known: a thread takes 0.1–0.2 s to start
 * (an isolate, its modules), which then overlaps the caller's planning instead of delaying the
 * copy. The caller must either {@link CopyPool.copy} or {@link CopyPool.dispose}: the threads
 * keep the process alive until then.
 */
export function startCopyPool(threads = Math.min(availableParallelism(), 4)): CopyPool {
  const entry = workerEntry()
  if (!entry) throw new Error('startCopyPool: this build has no copy worker')
  let onReport: (report: CopyReport) => void = () => {}
  let early: Error | undefined
  let onError = (error: Error) => {
    early ??= error
  }
  const workers = Array.from({length: threads}, () => {
    const worker = 'code' in entry ? new Worker(entry.code, {eval: true}) : new Worker(entry.url)
    const exited = new Promise<void>((resolve) => worker.on('exit', () => resolve()))
    worker.on('message', (report: CopyReport) => onReport(report))
    worker.on('error', (error) => onError(error))
    return {worker, exited}
  })
  let used = false
  return {
    threads,
    async copy(dir, files, options) {
      if (used) throw new Error('CopyPool.copy: a pool serves one job')
      used = true
      const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4))
      control[CONTROL_ACTIVE] = threads
      const job: CopyJob = {
        dir,
        files,
        trees: [...(options.trees ?? [])],
        skip: files.map((file) => file.path),
        control: control.buffer as SharedArrayBuffer,
        pruneNative: options.pruneNative,
        keep: [...options.keep],
      }
      const outcomes = new Array<CopyOutcome>(files.length)
      const found: CopyOutcome[] = []
      let failure: Error | undefined
      const fail = (error: Error) => {
        failure ??= error
        Atomics.store(control, CONTROL_STOP, 1)
      }
      if (early) fail(early)
      onError = fail
      onReport = (report) => {
        if (report.type === 'copied') {
          for (const outcome of report.outcomes) {
            if (outcome.index >= 0) outcomes[outcome.index] = outcome
            else found.push(outcome)
          }
        } else if (report.type === 'refused') {
          const {code, message, hint, path} = report.error
          fail(new AgentosError(code, message, {hint, path}))
        } else {
          fail(
            Object.assign(new Error(report.error.message), report.error, {
              side: report.side,
              index: report.index,
              ...(report.source === undefined ? {} : {file: {path: report.path, source: report.source}}),
            }),
          )
        }
      }
      running.add(control)
      try {
        for (const {worker} of workers) worker.postMessage(job)
        await Promise.all(workers.map(({exited}) => exited))
      } finally {
        running.delete(control)
      }
      if (failure) throw failure
      // A thread that ended without reporting some of its files is a bug, never a partial success.
      if (outcomes.some((outcome) => outcome === undefined) || outcomes.length !== files.length)
        throw new Error('copyInWorkers: a worker exited before reporting every file')
      return [...outcomes, ...found]
    },
    dispose() {
      if (used) return
      used = true
      for (const {worker} of workers) void worker.terminate()
    },
  }
}

/**
 * Writes `files` into `dir` (whose directories exist) on worker threads, returning one outcome per
 * file in the order given, then one per file found in `trees` (with its `path`; the threads make
 * its directories). On the first failure every thread stops before the promise rejects, so the
 * caller can discard `dir` knowing nothing writes into it any more. Rejects with the source's errno
 * error marked `side: 'read'` or the output's marked `side: 'write'`, with the `index` of the file
 * (and for a tree's file, `file: {path, source}`), or with the walk's coded error.
 */
export async function copyInWorkers(
  dir: string,
  files: CopyTask[],
  options: CopyInWorkersOptions,
): Promise<CopyOutcome[]> {
  const threads = Math.max(1, Math.min(options.threads ?? Math.min(availableParallelism(), 4), files.length))
  return startCopyPool(threads).copy(dir, files, options)
}
