import {execFileSync} from 'node:child_process'
import {chmod, cp, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {ROOT} from '../helpers/cli.js'
import {watFileToWasm} from '../helpers/wasm.js'
import type {PackageRef} from './cases.js'

/** test/conformance/fixtures. */
export const FIXTURES = join(ROOT, 'test/conformance/fixtures')

/** The WASM commands of wasm-tools, from the WAT of fixtures/run (no binaries are committed). */
const WASM_COMMANDS: Record<string, string> = {wecho: 'echo', wexit: 'exit', wenv: 'env', wcat: 'cat'}

/**
 * Copies the fixtures into `work` and builds what is not committed: wasm-tools' modules and the
 * `.aospkg` of wasm-tools (written by this project's assemble-wasm, so `npm run build` first).
 */
export async function materializeFixtures(work: string): Promise<string> {
  const dir = join(work, 'fixtures')
  await cp(FIXTURES, dir, {recursive: true})
  const bin = join(dir, 'wasm-tools/bin')
  await mkdir(bin, {recursive: true})
  for (const [command, wat] of Object.entries(WASM_COMMANDS)) {
    const file = join(bin, command)
    await writeFile(file, await watFileToWasm(join(ROOT, 'fixtures/run/wat', `${wat}.wat`)))
    await chmod(file, 0o755)
  }
  await mkdir(join(dir, 'aospkg'))
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'bin/run.js'),
      'assemble-wasm',
      ...Object.keys(WASM_COMMANDS).flatMap((command) => ['--command', `${command}=${join(bin, command)}`]),
      '--name',
      'wasm-tools',
      '--version',
      '1.0.0',
      '--out',
      join(dir, 'aospkg/wasm-tools'),
      '--format',
      'aospkg',
    ],
    {stdio: 'ignore'},
  )
  return dir
}

/** Host path of a fixture package, or of the `.aospkg` made from one. */
export function fixturePath(dir: string, ref: string | {aospkg: string}): string {
  return typeof ref === 'string' ? join(dir, ref) : join(dir, 'aospkg', `${ref.aospkg}.aospkg`)
}

/**
 * The `run` inputs of a case's packages: paths, and for a meta-package a software module that
 * default-exports the array of its packages (written next to the fixtures).
 */
export async function emulationInputs(dir: string, packages: readonly PackageRef[]): Promise<string[]> {
  const inputs: string[] = []
  for (const [index, ref] of packages.entries()) {
    if (typeof ref === 'object' && 'meta' in ref) {
      const file = join(dir, `meta-${ref.meta.join('+')}-${index}.mjs`)
      const entries = ref.meta.map(
        (name) => `defineSoftware({packageDir: ${JSON.stringify(join(dir, name))}})`,
      )
      await writeFile(
        file,
        `import {defineSoftware} from ${JSON.stringify(join(ROOT, 'dist/index.js'))}\nexport default [${entries.join(', ')}]\n`,
      )
      inputs.push(file)
    } else {
      inputs.push(fixturePath(dir, ref))
    }
  }
  return inputs
}
