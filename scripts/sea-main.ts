/**
 * Main script of the single binary (Node SEA), bundled by scripts/build-binary.mjs.
 *
 * It is kept small because Node compiles the whole main script on every start, code cache or
 * not: with the 3 MB CLI bundle as the main script, `--version` cost about 1.4× `node -e 0`; with
 * this one, about 0.8×. So it answers `--version` itself (as bin/run.js does) and otherwise runs
 * the CLI bundle (scripts/sea-entry.ts), which the binary carries as an asset together with the
 * V8 code cache the build made for it.
 */
import {getAsset, getRawAsset} from 'node:sea'
import vm from 'node:vm'
import {versionLine} from '../src/cli/fast/version.js'

/** package.json of the CLI, inlined by the build (`define`). */
declare const AGENTOS_SEA_PJSON: {root: {name: string; version: string}}

async function main(): Promise<void> {
  const line = await versionLine(process.argv.slice(2), AGENTOS_SEA_PJSON.root)
  if (line) {
    process.stdout.write(`${line}\n`)
    return
  }
  // The bundle's import()s go through vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER (below), whose
  // first use prints an ExperimentalWarning that bin/run.js, with plain import(), never prints. What
  // is asked of it is Node's own loader, as the main script has; the Node it runs on is pinned and
  // the binary e2e suite exercises those imports. Only that one warning is dropped.
  const emitWarning = process.emitWarning
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const message = typeof warning === 'string' ? warning : warning.message
    if (message.startsWith('vm.USE_MAIN_CONTEXT_DEFAULT_LOADER ')) return
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest)
  } as typeof process.emitWarning
  // The build wrapped the bundle as `(function (exports, require, module, __filename, __dirname)
  // {…})` and made the cache from exactly that source and these options (a cache made with other
  // options, or for other source, is rejected and the bundle compiled from scratch).
  const script = new vm.Script(getAsset('cli.cjs', 'utf8'), {
    filename: 'agentos-toolchain.cjs',
    cachedData: Buffer.from(getRawAsset('cli.cache') as ArrayBuffer),
    // The bundle import()s files from disk (oclif's loaders, run's software modules).
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  // A rejected cache still works, only slower; the binary e2e tests ask, to catch a build that
  // made the cache for other source or options than these.
  if (process.env.AGENTOS_TOOLCHAIN_DEBUG_SEA === '1') {
    process.stderr.write(`sea: code cache ${script.cachedDataRejected ? 'rejected' : 'accepted'}\n`)
  }
  const cli = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: {exports: object},
    filename: string,
    dirname: string,
  ) => void
  const module = {exports: {}}
  // The SEA's require() (builtins only) and file names: the bundle is the binary's main program.
  cli(module.exports, require, module, __filename, __dirname)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
