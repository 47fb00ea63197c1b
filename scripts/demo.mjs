#!/usr/bin/env node
// The README's quick start: the main jobs on the bundled examples, as real processes of the built
// CLI — assemble the WebAssembly example (compiled from WAT first: binaries are never committed),
// pack the Node.js example project, validate and inspect every package, then run what was built in
// the VM emulation. Needs no network, no bubblewrap (run falls back to path-mapped mode and says so
// on stderr) and no clang.
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import wabtInit from 'wabt'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin/run.js')
const examples = join(root, 'fixtures/examples')
const work = mkdtempSync(join(tmpdir(), 'agentos-demo-'))

/** Runs the CLI; a guest's own exit status is part of what `run` shows, so a step may expect one. */
function step(args, expectedStatus = 0) {
  console.log(`\n$ agentos-toolchain ${args.join(' ')}`)
  const result = spawnSync(process.execPath, [cli, ...args], {
    stdio: 'inherit',
    cwd: work,
    env: {...process.env, CI: 'true'},
  })
  if (result.error) throw result.error
  if (result.status !== expectedStatus) {
    throw new Error(
      `agentos-toolchain ${args[0]} exited ${result.status ?? result.signal}, not ${expectedStatus}`,
    )
  }
  if (expectedStatus !== 0) console.log(`(exit status ${result.status}, the guest's own)`)
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
  const [cmdsPackage, toolPackage, agentPackage] = packages
  step(['run', cmdsPackage, '--', 'tool-a'])
  step(['run', cmdsPackage, '--', 'tool-b'], 3)
  step(['run', toolPackage, '--', 'my-tool', '1h', '2d'])
  step(['run', agentPackage, '--agent'])
  console.log('\ndemo: assembled, packed, all example packages valid, and each one ran in the VM emulation')
} finally {
  rmSync(work, {recursive: true, force: true})
}
