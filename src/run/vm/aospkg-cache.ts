import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {isAgentosError} from '../../errors.js'
import {runError} from '../errors.js'
import {deadOwnerNamed, ownerTag, sweepDeadOwned} from '../../util/owner.js'

/**
 * Where `run` keeps extracted `.aospkg` archives: `$AGENTOS_TOOLCHAIN_CACHE`, else
 * `$XDG_CACHE_HOME/agentos-toolchain`, else `~/.cache/agentos-toolchain`; archives go under
 * `aospkg/<sha256 of the archive>`.
 */
export function runCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTOS_TOOLCHAIN_CACHE) return env.AGENTOS_TOOLCHAIN_CACHE
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'agentos-toolchain')
}

/**
 * The package directory of an `.aospkg`, extracted once into the cache under the archive's sha256
 * and reused by every later run of the same bytes. The extraction goes to a temp sibling renamed
 * into place, so a killed or concurrent run never leaves a half-written entry under the final name
 * (two runs extracting at once: the second rename finds the first's complete directory, keeps it
 * and removes its own). Guests never write there: bubblewrap binds it read-only, WASI preopens it
 * read-only, and path-mapped runs mount copies.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_AOSPKG_CACHE` (the cache is not writable), and the
 *   archive's own `ERR_AGENTOS_AOSPKG_…` codes.
 */
export async function extractedAospkg(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const base = join(runCacheDir(env), 'aospkg')
  sweepDeadOwned(base, (name) => deadOwnerNamed(name, STAGING_TEMP))
  const stamp = await stampOf(file, join(runCacheDir(env), 'aospkg-stamps'))
  const known = stamp && (await readFile(stamp, 'utf8').catch(() => undefined))
  if (known && /^[0-9a-f]{64}$/.test(known) && (await isExtracted(join(base, known))))
    return join(base, known)
  const sha256 = await hashFile(file)
  const dir = join(base, sha256)
  if (!(await isExtracted(dir))) await extract(file, base, sha256)
  if (stamp) await writeStamp(stamp, sha256)
  return dir
}

const isExtracted = (dir: string) =>
  stat(join(dir, 'agentos-package.json')).then(
    (info) => info.isFile(),
    () => false,
  )

/**
 * Where the sha256 of the archive as it is now is remembered, so that a later run of the same file
 * need not hash it again (0.9 s for a 130 MB agent). The name covers the file's identity and every
 * stat field a change of content moves (size, mtime and ctime to the nanosecond; ctime cannot be
 * set back), as git's index does; undefined when the file cannot be stat'ed.
 */
async function stampOf(file: string, stamps: string): Promise<string | undefined> {
  const info = await stat(file, {bigint: true}).catch(() => undefined)
  if (!info) return undefined
  const identity = [resolve(file), info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join('\0')
  return join(stamps, createHash('sha256').update(identity).digest('hex'))
}

/**
 * Best effort: a stamp that cannot be written only costs the next run a hash. The temp file has
 * its owner in the name; the dead ones' (a kill between write and rename) are swept here, where
 * the stamps dir (one entry per archive version ever run) is written anyway, not on every run.
 */
async function writeStamp(stamp: string, sha256: string): Promise<void> {
  const temp = `${stamp}.${ownerTag()}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await privateDir(dirname(stamp))
    sweepDeadOwned(dirname(stamp), (name) => deadOwnerNamed(name, STAMP_TEMP))
    await writeFile(temp, sha256, {mode: 0o644})
    await rename(temp, stamp)
  } catch {
    await rm(temp, {force: true}).catch(() => {})
  }
}

async function extract(file: string, base: string, sha256: string): Promise<void> {
  const dir = join(base, sha256)
  const rand = randomBytes(4).toString('hex')
  const staging = join(base, `.${sha256.slice(0, 16)}.${ownerTag()}.${rand}.tmp`)
  try {
    await privateDir(base)
    const {extractAospkg} = await import('../../archive/extract.js')
    await extractAospkg(file, staging)
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run finished the same archive first: its directory is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
      await rm(staging, {recursive: true, force: true})
    })
  } catch (error) {
    await rm(staging, {recursive: true, force: true}).catch(() => {})
    if (isAgentosError(error)) throw error
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw runError('ERR_AGENTOS_RUN_AOSPKG_CACHE', `cannot extract ${file} into ${base}: ${code}`, {
      hint: 'Set AGENTOS_TOOLCHAIN_CACHE to a writable directory.',
      path: base,
      cause: error,
    })
  }
}

/**
 * Makes a cache directory (and its parents) not writable by others, whatever the umask: the cache
 * holds what later runs mount, so another local user must not be able to swap an entry. The
 * directory itself (`aospkg`, `aospkg-stamps`: ours by name) loses group and other write bits
 * an older version left under umask 000; directories above it are the user's and left as they are.
 */
async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true, mode: 0o755})
  const info = await stat(dir)
  if (info.uid === process.getuid?.() && info.mode & 0o022) await chmod(dir, info.mode & 0o7755)
}

/**
 * The staging directory of an extraction (a SIGKILLed run leaves its
 * `.<sha>.<pid>.<start>.<rand>.tmp` behind, up to an archive's size each): the name is the owner
 * record, so a pid reused since by a live process does not keep it. Names of older versions
 * (`.<sha>.<pid>.<rand>.tmp`) are judged by the pid alone.
 */
const STAGING_TEMP = /^\.[0-9a-f]{16}\.(\d+)\.(?:(\d+)\.)?[0-9a-f]{8}\.tmp$/

/** A stamp's temp file: `<sha>.<pid>.<start>.<rand>.tmp`, or an older `<sha>.<pid>.<rand>.tmp`. */
const STAMP_TEMP = /^[0-9a-f]{64}\.(\d+)\.(?:(\d+)\.)?[0-9a-f]{8}\.tmp$/

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, {highWaterMark: 1024 * 1024})) hash.update(chunk)
  return hash.digest('hex')
}
