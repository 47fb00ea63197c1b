import {lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import module, {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import vm from 'node:vm'
import {deadOwnerNamed, ownerTag, sweepDeadOwned} from '../../util/owner.js'

/** A loaded bundle's exports, and a call that stores V8's code cache for it if it had none. */
export interface LoadedBundle<T> {
  exports: T
  /** Call once the work is done, so the cache also holds the functions that work compiled. */
  saveCache(): void
}

/**
 * Loads a CommonJS bundle the CLI ships (dist/cli/*.bundle.cjs) with V8's code cache, which
 * spares compiling it again on every start: about 130 ms for the 2 MB `pack` bundle on the 2-core
 * VM, against 10 ms from the cache.
 *
 * Node.js 22.1 and later cache compiled code themselves (`module.enableCompileCache`, in the
 * system temp dir). On Node.js 20 the bundle is compiled here with `vm.Script`, its cache kept in
 * `<tmpdir>/agentos-toolchain-compile-cache-<uid>` under a name made of the bundle's path, size
 * and mtime and the Node.js version; V8 itself rejects a cache that does not
 * match the source or its flags, and a rejected or missing cache is rewritten. A cache that cannot
 * be read or written only costs the compile.
 */
export function loadBundle<T>(file: string): LoadedBundle<T> {
  const require = createRequire(file)
  const enableCompileCache = (module as {enableCompileCache?: () => unknown}).enableCompileCache
  if (enableCompileCache) {
    enableCompileCache()
    return {exports: require(file) as T, saveCache: () => {}}
  }
  const source = readFileSync(file, 'latin1')
  const cacheFile = cacheFileFor(file)
  let cachedData: Buffer | undefined
  try {
    cachedData = cacheFile ? readFileSync(cacheFile) : undefined
  } catch {
    // No cache yet (or unreadable): compiled from source, and written after the run.
  }
  // Exactly the wrapper Node.js gives a CommonJS module.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.ScriptOptions)
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  const loaded = {exports: {} as T}
  wrapper.call(loaded.exports, loaded.exports, require, loaded, file, dirname(file))
  const fresh = cachedData === undefined || script.cachedDataRejected === true
  return {
    exports: loaded.exports,
    saveCache() {
      if (!fresh || !cacheFile) return
      try {
        // Only here, where a cache is written anyway (rare): never a read of the dir per start.
        sweepDeadOwned(dirname(cacheFile), (name) => deadOwnerNamed(name, CACHE_TEMP))
        const temp = `${cacheFile}.${ownerTag()}.tmp`
        writeFileSync(temp, script.createCachedData(), {mode: 0o600})
        renameSync(temp, cacheFile)
      } catch {
        // A cache that cannot be written (read-only home, full disk) only costs the next compile.
      }
    },
  }
}

/**
 * The temp file of a cache write (`<cache>.<pid>.<start>.tmp`; an older version's
 * `<cache>.<pid>.tmp` judged by the pid alone): a kill between write and rename leaves one, as big
 * as the cache itself.
 */
const CACHE_TEMP = /^[0-9a-f]+-\d+\.v8\.(\d+)(?:\.(\d+))?\.tmp$/

function cacheFileFor(file: string): string | undefined {
  const uid = process.getuid?.()
  if (uid === undefined) return undefined
  try {
    // In the temp dir, as Node.js keeps its own compile cache: a run never writes into the
    // user's home. The directory is the user's alone; one made by anybody else, or open to
    // others, is not trusted (a code cache is code).
    const dir = join(tmpdir(), `agentos-toolchain-compile-cache-${uid}`)
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const info = lstatSync(dir)
    if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o077) !== 0) return undefined
    const {size, mtimeMs} = statSync(file)
    const key = `${file}\0${size}\0${mtimeMs}\0${process.version}\0${process.arch}`
    // A name, not a secret: any stable digest will do, and this one needs no crypto module.
    let hash = 0x811c9dc5
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0
    return join(dir, `${hash.toString(16)}-${size}.v8`)
  } catch {
    return undefined
  }
}
