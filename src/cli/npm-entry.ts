import type {CliBuild, FastPath} from './main.js'

// Loaded by bin/run.js for every invocation, `run` included: nothing here is imported before it
// is needed. The bundles are written next to this module by scripts/build.mjs; their names are
// variables so that TypeScript does not look for them at compile time.
const RUN_BUNDLE = './run-fast.bundle.js'
const PACK_BUNDLE = './pack-fast.bundle.cjs'

/** The npm package's build of the CLI: its files in dist/, oclif from node_modules. */
export const npmBuild: CliBuild = {
  packageJson() {
    // getBuiltinModule, not `import … from 'node:fs'`, whose ESM facade loads node:stream: `run`
    // comes through here too (see src/run/emulation/run.ts).
    const {readFileSync} = process.getBuiltinModule('node:fs')
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  },
  async runFast() {
    // cli/fast/run.js and the modules a WASM command runs on, bundled.
    return ((await import(RUN_BUNDLE)) as {runFast: FastPath}).runFast
  },
  async packFast() {
    // cli/fast/pack.js and all it reaches, dependencies too, in one bundle with a V8 code cache.
    const {loadBundle} = await import('./fast/load-bundle.js')
    const {fileURLToPath} = process.getBuiltinModule('node:url')
    const bundle = loadBundle(fileURLToPath(new URL(PACK_BUNDLE, import.meta.url)))
    return {packFast: (bundle.exports as {packFast: FastPath}).packFast, answered: () => bundle.saveCache()}
  },
  async oclif(argv) {
    const {flush, run} = await import('@oclif/core')
    // oclif finds package.json (and so the commands) from the directory of this URL upwards.
    await run(argv, import.meta.url)
    await flush()
  },
  async handle(error) {
    const {handle} = await import('@oclif/core')
    await handle(error as Error)
  },
}
