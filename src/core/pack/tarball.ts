import {createHash} from 'node:crypto'
import {readFile, rename, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {create} from 'tar'
import {compareBytes} from '../../lib/concurrency.js'
import {FIXED_MTIME} from '../output.js'
import {readPackage} from '../package-reader.js'

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
  const temp = join(dirname(file), `.${process.pid}.agentos-tmp.tgz`)
  try {
    await create(
      {
        gzip: true,
        file: temp,
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
  } finally {
    await rm(temp, {force: true})
  }
  const bytes = await readFile(file)
  return {path: file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length}
}
