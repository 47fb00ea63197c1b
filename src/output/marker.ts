/**
 * The marker file every package directory this tool writes carries, and the test that a directory
 * is such an output with nothing added or changed.
 */
import {lstatSync, readdirSync} from 'node:fs'
import {readFile, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {OUTPUT_MARKER} from '../format/paths.js'
import {FIXED_MTIME_SECONDS} from './copy-protocol.js'
import {FIXED_MTIME} from './files.js'

/**
 * Writes the {@link OUTPUT_MARKER} into a staged package, recording its tree digest. Stamped like
 * everything else in the package, its directory too (creating the file changed its mtime).
 */
export async function writeOutputMarker(dir: string, digest: string): Promise<void> {
  const file = join(dir, OUTPUT_MARKER)
  await writeFile(file, `${JSON.stringify({tool: 'agentos-toolchain', digest})}\n`, {mode: 0o644})
  await utimes(file, FIXED_MTIME, FIXED_MTIME)
  await utimes(dir, FIXED_MTIME, FIXED_MTIME)
}

/**
 * True when `dir` provably is an output of pack or assemble-wasm with nothing added or changed:
 * its marker is ours, and either every entry still has the fixed mtime they were written with (a
 * file added, removed or renamed changes its directory's mtime; an edit, the file's own), or,
 * where mtimes were lost (a git checkout, a copy), the tree digest equals the recorded one. Only
 * then is it replaced without `--force`: a project that merely looks like a package (a
 * package.json with a bin map and an agentos-package.json) is never taken for one.
 */
export async function isUnchangedOutput(dir: string): Promise<boolean> {
  let marker: {tool?: unknown; digest?: unknown}
  try {
    marker = JSON.parse(await readFile(join(dir, OUTPUT_MARKER), 'utf8')) as typeof marker
  } catch {
    return false
  }
  if (marker?.tool !== 'agentos-toolchain' || typeof marker.digest !== 'string') return false
  if (mtimesAreFixed(dir)) return true
  const {readPackage} = await import('../package/read.js')
  const snapshot = await readPackage(dir, {digest: true}).catch(() => undefined)
  return snapshot !== undefined && snapshot.problems.length === 0 && snapshot.digest === marker.digest
}

/**
 * Whether every entry keeps the fixed mtime and was last changed no later than the marker, which
 * is written after everything else: an edit whose mtime was put back (`touch -r`, a tarball
 * extracted over the output) still moves the file's change time. The output directory itself is
 * left out of that (the commit's rename and the marker's stamp move its change time). Change times
 * tick with the kernel's coarse clock: an edit within a few ms of the marker is not told apart.
 */
function mtimesAreFixed(dir: string): boolean {
  const written = lstatSync(join(dir, OUTPUT_MARKER)).ctimeMs
  const pending = [dir]
  while (pending.length > 0) {
    const path = pending.pop()!
    const info = lstatSync(path)
    if (Math.floor(info.mtimeMs / 1000) !== FIXED_MTIME_SECONDS) return false
    if (path !== dir && info.ctimeMs > written) return false
    if (info.isDirectory()) for (const name of readdirSync(path)) pending.push(join(path, name))
    else if (!info.isFile()) return false
  }
  return true
}
