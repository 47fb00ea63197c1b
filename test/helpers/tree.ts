import {createHash} from 'node:crypto'
import {lstat, readdir, readFile, readlink} from 'node:fs/promises'
import {join} from 'node:path'

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
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort()
    for (const name of names) {
      if (options.ignore?.(name)) continue
      const path = rel ? `${rel}/${name}` : name
      const full = join(root, path)
      const info = await lstat(full)
      const mode = info.mode & 0o7777
      if (info.isDirectory()) {
        out[path] = {type: 'dir', mode, size: 0}
        await visit(path)
      } else if (info.isSymbolicLink()) {
        out[path] = {type: 'symlink', mode: 0, size: 0, content: await readlink(full)}
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
  await visit('')
  return out
}

/** One sha256 over a {@link snapshotTree}, for messages and quick comparisons. */
export function treeDigest(tree: Record<string, TreeEntry>): string {
  return createHash('sha256').update(JSON.stringify(tree)).digest('hex')
}
