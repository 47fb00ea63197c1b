#!/usr/bin/env node
// The README's quick start: the main jobs on the bundled examples, as real processes of the built
// CLI — assemble the WebAssembly example (compiled from WAT first: binaries are never committed),
// pack the Node.js example project, then validate and inspect every package. Needs no network.
import {execFileSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import wabtInit from 'wabt'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin/run.js')
const examples = join(root, 'fixtures/examples')
const work = mkdtempSync(join(tmpdir(), 'agentos-demo-'))

function step(args) {
  console.log(`\n$ agentos-toolchain ${args.join(' ')}`)
  execFileSync(process.execPath, [cli, ...args], {
    stdio: 'inherit',
    cwd: work,
    env: {...process.env, CI: 'true'},
  })
}

/** The spec's my-cmds/ project: WAT sources compiled to the .wasm files a compiler would emit. */
async function wasmProject() {
  const wabt = await wabtInit()
  const dir = join(work, 'my-cmds')
  mkdirSync(join(dir, 'build'), {recursive: true})
  cpSync(join(examples, 'my-cmds/package.json'), join(dir, 'package.json'))
  for (const file of readdirSync(join(examples, 'my-cmds/wat'))) {
    const module = wabt.parseWat(file, readFileSync(join(examples, 'my-cmds/wat', file), 'utf8'))
    writeFileSync(join(dir, 'build', `${basename(file, '.wat')}.wasm`), module.toBinary({}).buffer)
    module.destroy()
  }
  return dir
}

/** The Node.js quick start's my-tool/ project, with its node_modules installed. */
function nodeProject() {
  const dir = join(work, 'my-tool')
  const installed = join(examples, 'my-tool-package/node_modules')
  cpSync(join(installed, 'my-tool'), dir, {recursive: true})
  cpSync(join(installed, 'ms'), join(dir, 'node_modules/ms'), {recursive: true})
  return dir
}

try {
  const cmds = await wasmProject()
  step(['assemble-wasm', join(cmds, 'build'), '--project', cmds, '--out', join(cmds, 'dist/package')])
  nodeProject()
  step(['pack', './my-tool'])
  const packages = [
    join(cmds, 'dist/package'),
    join(work, 'my-tool-package'),
    join(examples, 'my-agent-package'),
  ]
  for (const dir of packages) {
    step(['validate', dir])
    step(['inspect', dir])
  }
  console.log('\ndemo: assembled, packed, and all example packages are valid')
} finally {
  rmSync(work, {recursive: true, force: true})
}
