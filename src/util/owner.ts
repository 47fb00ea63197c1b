/**
 * Who owns a leftover (a temp dir, a commit journal): a pid plus that process's start time, so a
 * pid reused by an unrelated process after a SIGKILL does not keep a dead run's leftovers alive.
 */
// Not `import … from 'node:fs'`: `run`'s WASM fast path records owners (see src/run/emulation/run.ts).
const {readdirSync, readFileSync, rmSync} = process.getBuiltinModule('node:fs')
const {join} = process.getBuiltinModule('node:path')

/** The kernel's start time of `pid` (clock ticks since boot, /proc/<pid>/stat field 22), if known. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** This process's owner record. */
export function ownRecord(): {pid: number; started?: string} {
  return {pid: process.pid, started: processStart(process.pid)}
}

/**
 * True while the process that wrote an owner record may still be running: `pid` exists (or
 * cannot be signalled: EPERM) and, when a start time was recorded and /proc tells it, started then.
 */
export function ownerAlive(pid: number, started?: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (started === undefined) return true
  const now = processStart(pid)
  return now === undefined || now === started
}

/**
 * This process's owner record as part of a name, `<pid>.<start>` (`0` when the start is unknown):
 * a leftover named with it is recorded by the same call that makes it, so no kill can leave it
 * without an owner.
 */
export function ownerTag(): string {
  const {pid, started} = ownRecord()
  return `${pid}.${started ?? 0}`
}

/**
 * {@link ownerAlive} for the pid and start time of an {@link ownerTag}, as a name's regex groups
 * (a start left out, as older names do, or `0` is not checked).
 */
export function tagOwnerAlive(pid: string | undefined, started: string | undefined): boolean {
  return ownerAlive(Number(pid), started === undefined || started === '0' ? undefined : started)
}

/**
 * True for a name `<prefix><pid>.<start>-XXXXXX` (a temp dir named with {@link ownerTag} by
 * mkdtemp) whose owner is gone; false for any other name and for a live owner. A start of `0`
 * (unknown when it was made) is not checked.
 */
export function deadOwnerTagged(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && deadOwnerNamed(name.slice(prefix.length), /^(\d+)\.(\d+)-[A-Za-z0-9]{6}$/)
}

/**
 * True when `name` matches `pattern`, whose first two groups are an owner's pid and start time
 * (the second may be left out), and that owner is gone.
 */
export function deadOwnerNamed(name: string, pattern: RegExp): boolean {
  const match = pattern.exec(name)
  return match !== null && !tagOwnerAlive(match[1], match[2])
}

/**
 * Removes the entries of `dir` that `dead` says a process that is gone left behind (a temp file
 * or dir with its owner in the name). Best effort: what cannot be read or removed stays.
 */
export function sweepDeadOwned(dir: string, dead: (name: string) => boolean): void {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!dead(name)) continue
    try {
      rmSync(join(dir, name), {recursive: true, force: true})
    } catch {
      // Left for a later sweep.
    }
  }
}
