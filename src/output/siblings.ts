/**
 * The names of the temp siblings every output is written through (`.<target><mark><pid>-<hex>`,
 * in the target's directory so the final rename is atomic), and the file writers' one call that
 * gives a fresh temp sibling after removing those that killed runs left behind.
 */
import {createHash, randomBytes} from 'node:crypto'
import {readdir, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/** A file or staging dir being written. */
export const TEMP_MARK = '.agentos-tmp-'
/** The previous output, set aside during a commit. */
export const OLD_MARK = '.agentos-old-'
/** The journal of a commit in progress: names the aside and the staging dir, and its owner. */
export const JOURNAL_MARK = '.agentos-commit-'

/**
 * The target's name as its siblings carry it. A name near NAME_MAX (255 bytes) would make
 * `.<name>.agentos-tmp-<pid>-<hex>` impossible to create, so a long one is cut to a prefix plus a
 * hash of the whole name: still unique per target, so one target never touches another's siblings.
 */
function siblingStem(base: string): string {
  if (Buffer.byteLength(base) <= 160) return base
  return `${base.slice(0, 40)}~${createHash('sha256').update(base).digest('hex').slice(0, 16)}`
}

/** A fresh sibling name of `target` with `mark`, owned by this process. */
export function siblingPath(target: string, mark: string): string {
  return join(
    dirname(target),
    `.${siblingStem(basename(target))}${mark}${process.pid}-${randomBytes(4).toString('hex')}`,
  )
}

/** Matches the siblings of a target named `base` with one of `marks`; group 2 is the owner's pid. */
export function siblingPattern(base: string, marks: readonly string[]): RegExp {
  const alternatives = marks.map(escapeRegExp).join('|')
  return new RegExp(`^\\.${escapeRegExp(siblingStem(base))}(${alternatives})(\\d+)-[0-9a-f]+$`)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** True while `pid` may be running (it exists, or cannot be signalled: EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A temp sibling to write the file `target` through, after removing the temp siblings of that
 * target whose writer is gone (a SIGKILLed `pack --tar`, an interrupted `.aospkg` write). This
 * process's own are kept: another write of it may be in flight.
 */
export async function tempFileSibling(target: string): Promise<string> {
  const parent = dirname(target)
  const pattern = siblingPattern(basename(target), [TEMP_MARK])
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[2])
    if (!pid || pid === process.pid || isAlive(pid)) continue
    await rm(join(parent, name), {force: true})
  }
  return siblingPath(target, TEMP_MARK)
}
