import {execFileSync} from 'node:child_process'
import {chmod, cp, mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {readPackage} from '../../src/package/read.js'
import {ROOT} from './cli.js'
import {watFileToWasm} from './wasm.js'

/** fixtures/run/<name>. */
export const runFixture = (name: string) => join(ROOT, 'fixtures/run', name)
/** fixtures/examples/<name>. */
export const example = (name: string) => join(ROOT, 'fixtures/examples', name)

/** The WASM command package: fixtures/run/wasm-cmds with its commands assembled from fixtures/run/wat. */
export async function wasmCmdsPackage(work: string): Promise<string> {
  const dir = join(work, 'wasm-cmds')
  await cp(runFixture('wasm-cmds'), dir, {recursive: true})
  await mkdir(join(dir, 'bin'), {recursive: true})
  for (const file of await readdir(runFixture('wat'))) {
    const out = join(dir, 'bin', basename(file, '.wat'))
    await writeFile(out, await watFileToWasm(join(runFixture('wat'), file)))
    await chmod(out, 0o755)
  }
  return dir
}

/** The SDK agent package: its source bundled with esbuild (SDK included) into acp.mjs. */
export async function sdkAgentPackage(work: string): Promise<string> {
  const dir = join(work, 'sdk-agent')
  await cp(runFixture('agents/sdk-agent'), dir, {recursive: true})
  // Bundled from the repository copy, so the SDK resolves from this project's node_modules.
  execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [
    runFixture('agents/sdk-agent/src/acp.mjs'),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    `--outfile=${join(dir, 'acp.mjs')}`,
    '--log-level=warning',
  ])
  await chmod(join(dir, 'acp.mjs'), 0o755)
  return dir
}

/** A package whose command is a native ELF binary (a header is enough: it is never executed). */
export async function nativePackage(work: string): Promise<string> {
  const dir = join(work, 'native')
  await cp(runFixture('native'), dir, {recursive: true})
  await mkdir(join(dir, 'bin'))
  const elf = Buffer.alloc(64)
  elf.write('\x7fELF\x02\x01\x01', 'latin1')
  await writeFile(join(dir, 'bin/native-tool'), elf, {mode: 0o755})
  return dir
}

/** The package's content digest (sha256 over every file's path, mode and bytes). */
export async function digestOf(dir: string): Promise<string> {
  return (await readPackage(dir, {digest: true})).digest!
}

/** Host pids whose command line contains `marker` (to prove no guest outlived a run). */
export async function processesMatching(marker: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.split('\0').some((part) => part.includes(marker))) pids.push(Number(name))
  }
  return pids
}
