import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {mkdir, rename, rm, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {isAgentosError} from '../errors.js'
import {runError} from './errors.js'

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
  const sha256 = await hashFile(file)
  const base = join(runCacheDir(env), 'aospkg')
  const dir = join(base, sha256)
  if (
    await stat(join(dir, 'agentos-package.json')).then(
      (info) => info.isFile(),
      () => false,
    )
  )
    return dir
  const staging = join(base, `.${sha256.slice(0, 16)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await mkdir(base, {recursive: true})
    const {extractAospkg} = await import('../aospkg/extract.js')
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
  return dir
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, {highWaterMark: 1024 * 1024})) hash.update(chunk)
  return hash.digest('hex')
}
