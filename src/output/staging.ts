/**
 * The temp sibling a package is built in and its atomic commit into place: stale siblings of
 * killed runs removed, a commit interrupted between its two renames put back, and the process's
 * only signal hook, which restores and removes what is ours when a signal ends a run.
 */
import {existsSync, renameSync, rmSync} from 'node:fs'
import {lstat, mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {ownerAlive, ownRecord} from '../util/owner.js'
import {stopCopiesSync} from './copy-pool.js'
import {isAlive, JOURNAL_MARK, OLD_MARK, siblingPath, siblingPattern, TEMP_MARK} from './siblings.js'
import {outputError} from './errors.js'

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
  // 0755 whatever the umask (mkdir's mode is masked, never widened): under umask 000 every other
  // user could change a package that a later run mounts.
  await mkdir(dir, {mode: 0o755}).catch((error: NodeJS.ErrnoException) => {
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
export async function restoreInterruptedCommit(target: string): Promise<void> {
  await replayJournals(target)
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
    const journal = await writeJournal(target, aside, dir)
    await pauseForTest('journal')
    try {
      await rename(target, aside)
    } catch (error) {
      await rm(journal, {force: true})
      if (retry(error)) continue
      throw error
    }
    state.aside = aside
    await pauseForTest('aside')
    try {
      await rename(dir, target)
    } catch (error) {
      // Put the previous output back. If another run filled the target meanwhile this fails and
      // the aside stays for the next run to clear: the target then holds that run's package.
      await rename(aside, target).catch(() => undefined)
      state.aside = undefined
      await rm(journal, {force: true})
      if (retry(error)) continue
      throw error
    }
    await pauseForTest('swapped')
    await rm(aside, {recursive: true, force: true})
    state.aside = undefined
    await pauseForTest('removed')
    await rm(journal, {force: true})
    break
  }
  untrack(dir)
}

/**
 * Linux offers an atomic exchange (renameat2 RENAME_EXCHANGE) but Node.js does not expose it, so a
 * commit is two renames with a journal: written before the first, removed after the aside is
 * gone. A SIGKILL between them leaves the journal, and the next `pack`, `assemble-wasm` or `run`
 * naming the target replays it: the aside put back when the target is missing, removed otherwise.
 */
async function writeJournal(target: string, aside: string, staging: string): Promise<string> {
  const journal = siblingPath(target, JOURNAL_MARK)
  const text = JSON.stringify({aside: basename(aside), staging: basename(staging), ...ownRecord()})
  // A kill while it is written leaves half a journal: nothing was renamed yet, so the next run
  // just removes it.
  await writeFile(journal, text, {mode: 0o600})
  return journal
}

interface Journal {
  aside: string
  staging: string
  pid: number
  started?: string
}

function parseJournal(text: string): Journal | undefined {
  try {
    const value = JSON.parse(text) as Partial<Journal>
    const plain = (name: unknown) => typeof name === 'string' && name.startsWith('.') && !name.includes('/')
    if (!plain(value.aside) || !plain(value.staging) || typeof value.pid !== 'number') return undefined
    return value as Journal
  } catch {
    return undefined
  }
}

/** Replays the journals of commits to `target` whose run died (see {@link writeJournal}). */
async function replayJournals(target: string): Promise<void> {
  const parent = dirname(target)
  const pattern = siblingPattern(basename(target), [JOURNAL_MARK])
  for (const name of (await readdir(parent).catch(() => [] as string[])).sort()) {
    const match = pattern.exec(name)
    if (!match) continue
    const path = join(parent, name)
    const journal = parseJournal(await readFile(path, 'utf8').catch(() => ''))
    const pid = journal?.pid ?? Number(match[2])
    const ours = pid === process.pid && (!journal || isOurs(join(parent, journal.staging)))
    if (ours || (pid !== process.pid && ownerAlive(pid, journal?.started))) continue
    if (journal) {
      const aside = join(parent, journal.aside)
      if (await lstat(aside).catch(() => undefined)) {
        if (await lstat(target).catch(() => undefined)) await rm(aside, {recursive: true, force: true})
        else await rename(aside, target)
      }
      await rm(join(parent, journal.staging), {recursive: true, force: true})
    }
    await rm(path, {force: true})
  }
}

/** Tests only: stops a commit at `step` (told on stderr) so that a test can kill it there. */
async function pauseForTest(step: string): Promise<void> {
  if (process.env.AGENTOS_TOOLCHAIN_TEST_PAUSE_COMMIT !== step) return
  process.stderr.write(`agentos-test: commit paused at ${step}\n`)
  await new Promise(() => setInterval(() => undefined, 60_000))
}

/** Removes a staging directory after a failure (the target was never touched). */
export async function discardStaging(staging: Staging): Promise<void> {
  await rm(staging.dir, {recursive: true, force: true})
  untrack(staging.dir)
}
