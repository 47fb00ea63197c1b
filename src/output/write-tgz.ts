import {createHash} from 'node:crypto'
import {lstat, mkdir, open, readFile, rename, rm} from 'node:fs/promises'
import {dirname, relative, sep} from 'node:path'
import {constants, gunzipSync} from 'node:zlib'
import {AgentosError} from '../errors.js'
import {create} from 'tar'
import {compareBytes} from '../format/byte-order.js'
import {outputError} from './errors.js'
import {FIXED_MTIME} from './files.js'
import {isWithin, specialKind} from '../util/paths.js'
import {readPackage} from '../package/read.js'
import {tempFileSibling} from './siblings.js'

/**
 * Writes a deterministic gzipped tarball of a package directory: members under `package/` (as npm
 * tarballs), sorted byte-wise, uid/gid 0, no user names, the fixed mtime. Written to a temp file and
 * renamed, so a failure leaves no partial tarball.
 */
export async function writePackageTarball(
  dir: string,
  file: string,
): Promise<{path: string; sha256: string; bytes: number}> {
  const snapshot = await readPackage(dir)
  const members = snapshot.entries
    .filter((e) => e.kind === 'file' || e.kind === 'dir')
    .map((e) => e.path)
    .sort(compareBytes)
  let temp: string | undefined
  try {
    // As --out does, a missing directory is made (it crashed the CLI after the commit).
    await mkdir(dirname(file), {recursive: true})
    // Named as the staging siblings are, so the next run removes one a SIGKILL left behind.
    temp = await tempFileSibling(file)
    await create(
      {
        gzip: true,
        file: temp,
        // 0644 whatever the umask, as the package's own files.
        mode: 0o644,
        cwd: dir,
        prefix: 'package',
        portable: true,
        noDirRecurse: true,
        mtime: FIXED_MTIME,
        noPax: true,
      },
      members,
    )
    await rename(temp, file)
  } catch (error) {
    throw outputError(
      error as NodeJS.ErrnoException,
      file,
      'Name a --tar file in a directory you can write to; the package output itself was written.',
    )
  } finally {
    // Where the temp file could not be made (a file in the way: ENOTDIR), neither can it be removed.
    if (temp) await rm(temp, {force: true}).catch(() => {})
  }
  const bytes = await readFile(file)
  return {path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length}
}

/** Options of {@link checkTarballTarget}. */
export interface TarballTargetOptions {
  /** Replace an existing file that is not an earlier tarball of a package. */
  force?: boolean
  /** The source directories: a file in them is never replaced. */
  sources?: readonly string[]
  /** What the same run writes besides the tarball (package directory, archive). */
  outputs?: readonly string[]
}

/**
 * Checks a `--tar` path before anything is written: a directory is refused (it used to fail after
 * the package directory was already committed), and an existing file is replaced only when it is
 * an earlier package tarball (gzip, members under `package/`), or with `force` — but never a file
 * of the source being packed.
 */
export async function checkTarballTarget(file: string, options: TarballTargetOptions = {}): Promise<void> {
  // The tarball is written after the package directory is committed: named as that directory it
  // failed with EISDIR then, and inside it, it became a file of the package.
  const clash = (options.outputs ?? []).find((out) => isWithin(out, file))
  if (clash !== undefined) {
    throw new AgentosError(
      'ERR_AGENTOS_TAR_OUT_CLASH',
      `the --tar path ${file} is ${file === clash ? '' : 'inside '}${clash}, which the same pack writes`,
      {hint: 'Name a file outside the package output, such as dist/package.tgz.', path: file},
    )
  }
  const info = await lstat(file).catch((error: NodeJS.ErrnoException) => {
    // A file where a directory of the path should be: refused before the package is committed.
    if (error.code === 'ENOTDIR') throw outputError(error, file, 'Name a --tar file in a directory.')
    return undefined
  })
  if (!info) return
  // Not even --force replaces a device, FIFO or socket (as root, rename would take /dev/null away).
  const special = specialKind(info)
  if (special) {
    throw new AgentosError('ERR_AGENTOS_TAR_OUT_NOT_FILE', `the --tar path ${file} is a ${special}`, {
      hint: 'Name a regular file, such as dist/package.tgz.',
      path: file,
    })
  }
  if (info.isDirectory()) {
    throw new AgentosError('ERR_AGENTOS_TAR_OUT_IS_DIR', `the --tar path ${file} is a directory`, {
      hint: 'Name a file, such as dist/package.tgz.',
      path: file,
    })
  }
  if (info.isFile() && (await isPackageTarball(file))) return
  const inSource = (options.sources ?? []).some((source) => {
    const rel = relative(source, file)
    return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep)
  })
  if (options.force && !inSource) return
  throw new AgentosError(
    'ERR_AGENTOS_TAR_OUT_EXISTS',
    `${file} exists and is not a package tarball${inSource ? ' (it is a file of the source)' : ''}; refusing to replace it`,
    {
      hint: inSource
        ? 'Name a new file for --tar.'
        : 'Name another file for --tar, or add --force to replace it.',
      path: file,
    },
  )
}

/** True for a gzipped tar whose first member is under `package/`, as writePackageTarball writes. */
async function isPackageTarball(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(4096)
    const {bytesRead} = await handle.read(head, 0, head.length, 0)
    if (bytesRead < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return false
    const tar = gunzipSync(head.subarray(0, bytesRead), {finishFlush: constants.Z_SYNC_FLUSH})
    return tar.subarray(0, 8).toString('latin1') === 'package/'
  } catch {
    return false
  } finally {
    await handle.close()
  }
}
