import {createHash} from 'node:crypto'
import {lstat, readdir, readFile, readlink} from 'node:fs/promises'

/** One entry of a {@link snapshotTree}: type, permission bits and content (hash or link target). */
export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other'
  mode: number
  size: number
  /** sha256 of a file, target of a symlink. */
  content?: string
}

/**
 * Every file, directory and link under `root` (not following links, never opening FIFOs or
 * devices), keyed by relative path. Two snapshots are equal exactly when no byte, mode, link or
 * name changed, which is what "the user's files are untouched" means.
 */
export async function snapshotTree(
  root: string,
  options: {ignore?: (name: string) => boolean} = {},
): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {}
  // Names are read as bytes: a name that is not UTF-8 must be found again (and told apart).
  const visit = async (rel: string, dir: Buffer): Promise<void> => {
    const names = (await readdir(dir, {encoding: 'buffer'})).sort(Buffer.compare)
    for (const raw of names) {
      const name = keyOf(raw)
      if (options.ignore?.(name)) continue
      const path = rel ? `${rel}/${name}` : name
      const full = Buffer.concat([dir, Buffer.from('/'), raw])
      const info = await lstat(full)
      const mode = info.mode & 0o7777
      if (info.isDirectory()) {
        out[path] = {type: 'dir', mode, size: 0}
        await visit(path, full)
      } else if (info.isSymbolicLink()) {
        out[path] = {type: 'symlink', mode: 0, size: 0, content: await readlink(full, 'utf8')}
      } else if (info.isFile()) {
        const sha = createHash('sha256')
          .update(await readFile(full))
          .digest('hex')
        out[path] = {type: 'file', mode, size: info.size, content: sha}
      } else {
        out[path] = {type: 'other', mode, size: 0}
      }
    }
  }
  await visit('', Buffer.from(root))
  return out
}

/** A name as a key: itself when UTF-8, else its bytes escaped (`\\xff`). */
function keyOf(raw: Buffer): string {
  const text = raw.toString('utf8')
  if (Buffer.from(text).equals(raw)) return text
  return [...raw]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
    .join('')
}

/** One sha256 over a {@link snapshotTree}, for messages and quick comparisons. */
export function treeDigest(tree: Record<string, TreeEntry>): string {
  return createHash('sha256').update(JSON.stringify(tree)).digest('hex')
}
