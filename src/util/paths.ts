import {relative, sep} from 'node:path'

/**
 * True when host path `child` is `parent` or lies below it. Both should be real paths (resolved
 * links): this compares text, so a link inside `parent` that leads out is not seen here.
 */
export function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !rel.startsWith(sep))
}

/** A link's target on disk, or undefined when the path is not a link (or does not exist). */
export function linkOnDisk(path: string): string | undefined {
  const {lstatSync, readlinkSync} = process.getBuiltinModule('node:fs')
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined
  } catch {
    return undefined
  }
}

/**
 * The kind of a FIFO, socket or device, as an error names it; undefined for anything else. Such a
 * file exists but is no package content: opening it blocks (a FIFO), fails (a socket) or reaches
 * the host's device.
 */
export function specialKind(info: {
  isFIFO(): boolean
  isSocket(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
}): string | undefined {
  if (info.isFIFO()) return 'FIFO'
  if (info.isSocket()) return 'socket'
  if (info.isCharacterDevice()) return 'character device'
  if (info.isBlockDevice()) return 'block device'
  return undefined
}
