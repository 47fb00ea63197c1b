import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {constants, lstat, open, readdir, readFile, readlink, realpath, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {mapLimit} from '../util/map-limit.js'
import {AgentosError, type Problem} from '../errors.js'
import {copyHead, PE_PROBE_BYTES, readHead} from '../format/header.js'
import {isDescriptorFile, OUTPUT_MARKER} from '../format/paths.js'
import {finishSnapshot, type PackageEntry, type PackageSnapshot, type ReadOptions} from './snapshot.js'
import {DESCRIPTOR_TEXT_LIMIT} from '../format/limits.js'

// Directories that are reported as a source-root smell but never descended into: they can be huge
// and nothing in them matters to the package.
const OPAQUE_DIRS = new Set(['.git', '.hg', '.svn'])

/**
 * Reads a package directory, a `.tgz`/`.tar` holding one, or an `.aospkg` archive (also inside an
 * npm tarball as `dist/package.aospkg`) into a {@link PackageSnapshot}, in place: nothing is
 * extracted.
 */
export async function readPackage(target: string, options: ReadOptions = {}): Promise<PackageSnapshot> {
  const absolute = resolve(target)
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    throw new AgentosError(
      error.code === 'ENOENT' ? 'ERR_AGENTOS_TARGET_NOT_FOUND' : 'ERR_AGENTOS_TARGET_UNREADABLE',
      error.code === 'ENOENT' ? `${target} does not exist` : `cannot read ${target}: ${error.code}`,
      {hint: 'Pass a package directory, a .tgz/.tar holding one, or an .aospkg.', path: target, cause: error},
    )
  })
  if (info.isDirectory()) return readDirectory(await realpath(absolute), options)
  if (info.isFile()) {
    const {readPackageFile} = await import('./read-aospkg.js')
    return readPackageFile(absolute, options)
  }
  throw new AgentosError('ERR_AGENTOS_TARGET_UNREADABLE', `${target} is neither a directory nor a file`, {
    hint: 'Pass a package directory, a .tgz/.tar holding one, or an .aospkg.',
    path: target,
  })
}

async function readDirectory(root: string, options: ReadOptions): Promise<PackageSnapshot> {
  const entries: PackageEntry[] = []
  const problems: Problem[] = []
  const texts = new Map<string, string>()
  const denied = (path: string, error: NodeJS.ErrnoException) =>
    problems.push({
      code: 'ERR_AGENTOS_READ_FAILED',
      severity: 'error',
      path,
      message: `cannot read ${path}: ${error.code ?? error.message}`,
      hint: 'Make every file of the package readable (chmod -R u+r).',
    })

  // Breadth-first over directories; files of each level are read with bounded concurrency.
  let level: string[] = ['']
  while (level.length > 0) {
    const nextLevel: string[] = []
    const files: PackageEntry[] = []
    await mapLimit(level, 8, async (dir) => {
      let dirents: import('node:fs').Dirent[]
      try {
        dirents = await readdir(join(root, dir), {withFileTypes: true})
      } catch (error) {
        denied(dir || '.', error as NodeJS.ErrnoException)
        return
      }
      for (const dirent of dirents) {
        if (!dir && dirent.name === OUTPUT_MARKER) continue
        const path = dir ? `${dir}/${dirent.name}` : dirent.name
        if (dirent.isDirectory()) {
          entries.push({path, kind: 'dir', mode: 0o755, size: 0})
          if (!OPAQUE_DIRS.has(dirent.name)) nextLevel.push(path)
        } else if (dirent.isSymbolicLink()) {
          const entry: PackageEntry = {path, kind: 'symlink', mode: 0o777, size: 0}
          entry.linkTarget = await readlink(join(root, path)).catch(() => '')
          entries.push(entry)
        } else if (dirent.isFile()) {
          const entry: PackageEntry = {path, kind: 'file', mode: 0, size: 0}
          entries.push(entry)
          files.push(entry)
        } else {
          entries.push({path, kind: 'other', mode: 0, size: 0})
        }
      }
    })
    await mapLimit(files, 32, async (entry) => {
      try {
        await readFileEntry(join(root, entry.path), entry, options)
        if (isDescriptorFile(entry.path) && entry.size <= DESCRIPTOR_TEXT_LIMIT) {
          texts.set(entry.path, await readFile(join(root, entry.path), 'utf8'))
        }
      } catch (error) {
        denied(entry.path, error as NodeJS.ErrnoException)
      }
    })
    level = nextLevel
  }
  return finishSnapshot({type: 'directory', path: root}, entries, texts, problems, options)
}

async function readFileEntry(file: string, entry: PackageEntry, options: ReadOptions): Promise<void> {
  const info = await lstat(file)
  entry.mode = info.mode & 0o7777
  entry.size = info.size
  if (options.digest) {
    const hash = createHash('sha256')
    const chunks: Buffer[] = []
    let kept = 0
    for await (const chunk of createReadStream(file, {
      flags: constants.O_RDONLY | constants.O_NONBLOCK,
    } as never)) {
      const buffer = chunk as Buffer
      hash.update(buffer)
      if (kept < PE_PROBE_BYTES) {
        chunks.push(buffer.subarray(0, PE_PROBE_BYTES - kept))
        kept += Math.min(buffer.length, PE_PROBE_BYTES - kept)
      }
    }
    entry.sha256 = hash.digest('hex')
    entry.head = copyHead(Buffer.concat(chunks))
    return
  }
  // O_NONBLOCK: a FIFO put in place of the file since it was listed must not block in open().
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    entry.head = await readHead(handle, info.size)
  } finally {
    await handle.close()
  }
}
