/**
 * Owner records of per-run VM roots (`agentos-run-*` in the temp dir), and the sweep that removes
 * what runs that died without cleaning up (SIGKILL, a crash, a power cut) left in the temp dir:
 * their roots and their software modules' temp dirs.
 */
import {join} from 'node:path'
import {deadOwnerTagged, ownerAlive, ownRecord} from '../../util/owner.js'
import {SOFTWARE_DIR_PREFIX} from '../vm/inputs.js'

// Not `import … from 'node:fs'`: see the note in run.ts.
const {chmodSync, lstatSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync} =
  process.getBuiltinModule('node:fs')

/** Prefix of every per-run root; mkdtemp adds six characters. */
export const ROOT_PREFIX = 'agentos-run-'
/** The owner record, in the run's temp dir beside (never inside) the guest's `/`. */
export const OWNER_FILE = 'agentos-owner.json'
const ROOT_NAME = /^agentos-run-[A-Za-z0-9]{6}$/

/** Writes this process's owner record into a freshly made root dir. */
export function recordOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(ownRecord()), {mode: 0o600, flag: 'wx'})
}

/** Drops the owner record: a root kept on purpose (`--keep-root`) is the user's, never swept. */
export function releaseOwner(dir: string): void {
  try {
    unlinkSync(join(dir, OWNER_FILE))
  } catch {
    // Already gone.
  }
}

/**
 * Removes what dead runs left in `tmp`, in the one read of it every run with a root makes anyway.
 * Only what this tool made: a directory named exactly as {@link assembleRoot} or inputs.ts names
 * them, owned by this user, whose owner record (a file in a root, the name of a software dir)
 * parses and names a process that is gone. A root without a record (made by an older version, or
 * kept with --keep-root) or with a live owner is left alone. Best effort, never throws.
 */
export function sweepStaleTempDirs(tmp: string): void {
  let names: string[]
  try {
    names = readdirSync(tmp)
  } catch {
    return
  }
  const uid = process.getuid?.()
  for (const name of names) {
    // A shared temp dir holds hundreds of names: most are told apart by one prefix test.
    if (!name.startsWith('agentos-')) continue
    // A software module's temp dir has its owner in the name (inputs.ts), a root in a file.
    const software = name.startsWith(SOFTWARE_DIR_PREFIX)
    if (software ? !deadOwnerTagged(name, SOFTWARE_DIR_PREFIX) : !ROOT_NAME.test(name)) continue
    const dir = join(tmp, name)
    try {
      const info = lstatSync(dir)
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue
      if (software) {
        removeTree(dir)
        continue
      }
      const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as {
        pid?: unknown
        started?: unknown
      }
      if (typeof owner.pid !== 'number') continue
      const started = typeof owner.started === 'string' ? owner.started : undefined
      if (ownerAlive(owner.pid, started)) continue
      removeTree(dir)
    } catch {
      // Unreadable, half-written or gone meanwhile: not provably a dead run's.
    }
  }
}

/** rm -rf that first gives directories their write bit back (a copies root's /opt/agentos has none). */
function removeTree(dir: string): void {
  const writable = (path: string): void => {
    const info = lstatSync(path)
    if (!info.isDirectory()) return
    if (!(info.mode & 0o200)) chmodSync(path, info.mode | 0o200)
    for (const name of readdirSync(path)) writable(join(path, name))
  }
  try {
    writable(dir)
  } catch {
    // rm says what is left.
  }
  rmSync(dir, {recursive: true, force: true, maxRetries: 2})
}
