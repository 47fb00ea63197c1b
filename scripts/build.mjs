#!/usr/bin/env node
// Build: compile TypeScript, then regenerate the two committed artifacts derived from the sources
// (schema/agentos-package.schema.json and oclif.manifest.json). A test fails when the committed
// copies differ from what this produces.
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {asciiOnly} from './ascii.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = (file, args) =>
  execFileSync(file, args, {
    cwd: root,
    stdio: 'inherit',
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  })

rmSync(join(root, 'dist'), {recursive: true, force: true})
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])
await bundleRunFast()
await bundlePackFast()

const {manifestJsonSchema} = await import(join(root, 'dist/format/manifest-schema.js'))
writeFileSync(
  join(root, 'schema/agentos-package.schema.json'),
  `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`,
)

run(process.execPath, [join(root, 'node_modules/oclif/bin/run.js'), 'manifest'])

/**
 * dist/cli/run-fast.bundle.js, what bin/run.js loads for `run`: the fast path and the modules
 * a WASM command runs on (cli/fast/run.js, run.js, wasi.js and what they import) as one file. Node 20
 * loads every ES module with its own asynchronous reads (open, fstat, read, close through the
 * thread pool); about twenty of them cost a WASM command more than everything else it does.
 *
 * Static imports are bundled. Dynamic imports stay imports of the compiled files (rewritten to be
 * relative to the bundle), except node.js, run.js and wasi.js: agents, Node.js guests, software
 * modules, .aospkg files and error reports load what they need as before, with their own copies of
 * some bundled modules. The one with state, node.js (`--node`), keeps it on globalThis, and
 * AgentosError is recognised across copies. The bundle lives one folder below dist/, as
 * src/util/dist-file.ts does, so that the files started by path (the WASI runner script) are found
 * from it. Packages and builtins are never bundled.
 */
async function bundleRunFast() {
  const esbuild = await import('esbuild')
  const dist = join(root, 'dist')
  const outfile = join(dist, 'cli/run-fast.bundle.js')
  const bundledDynamic = new Set([
    'run/emulation/process/node.js',
    'run/emulation/run.js',
    'run/emulation/wasi/wasi.js',
  ])
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(dist, 'cli/fast/run.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    plugins: [
      {
        name: 'run-fast-externals',
        setup(build) {
          build.onResolve({filter: /^[^./]/}, (args) => ({path: args.path, external: true}))
          build.onResolve({filter: /^\./}, (args) => {
            const file = resolve(args.resolveDir, args.path)
            const key = relative(dist, file)
            const bundled = args.kind !== 'dynamic-import' || bundledDynamic.has(key)
            if (bundled) return undefined
            const path = relative(dirname(outfile), file)
            return {path: path.startsWith('.') ? path : `./${path}`, external: true}
          })
        },
      },
    ],
  })
}

/**
 * dist/cli/pack-fast.bundle.cjs, what bin/run.js loads for `pack`: the fast path
 * (dist/cli/fast/pack.js) with everything it can reach, dependencies included, as one CommonJS
 * file. Loaded module by module, `pack` spent most of a second before packing anything (arborist
 * alone is about 500 modules); as one file it is one read and one compile, which bin/run.js
 * also caches (src/cli/fast/load-bundle.ts). Modules behind dynamic imports (arborist, npm-packlist,
 * listr2, tar…) are evaluated only when reached.
 *
 * It lives one folder below dist/ so that import.meta.url, which the bundle defines as its own URL,
 * lets src/util/dist-file.ts find the copy worker as it does unbundled. The same two
 * externals and jsonc-parser alias as the single binary (scripts/build-binary.mjs).
 */
async function bundlePackFast() {
  const esbuild = await import('esbuild')
  const outfile = join(root, 'dist/cli/pack-fast.bundle.cjs')
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, 'dist/cli/fast/pack.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    charset: 'ascii',
    logLevel: 'error',
    external: ['typescript', 'node-gyp/bin/node-gyp.js'],
    alias: {'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js'},
    define: {'import.meta.url': '__agentos_bundle_url'},
    banner: {js: "const __agentos_bundle_url = require('node:url').pathToFileURL(__filename).href;"},
  })
  for (const warning of result.warnings) console.warn(`build: esbuild: ${warning.text}`)
  const source = asciiOnly(readFileSync(outfile, 'utf8'))
  // A dependency that loads one of its own files relative to import.meta.url would look for it
  // in dist/cli, where it is not.
  const escaped = source.match(/__agentos_bundle_url\)\(\s*["'`]\.{1,2}\/[^"'`]*/g)
  if (escaped) throw new Error(`the pack bundle loads files it does not contain: ${escaped.join(', ')}`)
  writeFileSync(outfile, source)
}
