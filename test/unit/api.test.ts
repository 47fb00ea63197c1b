import {cpSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import * as api from '../../src/index.js'
import {ROOT} from '../helpers/cli.js'
import {wasmCmdsPackage} from '../helpers/run-fixtures.js'

// The typed API is the package's `exports["."]`: the flow a build script would write, from the
// entry point only — pack a project, check it, archive it, read the archive back, run a command.
let work: string
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-api-'))
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('the typed API (src/index.ts)', () => {
  it('exports every command as a function', () => {
    for (const name of [
      'pack',
      'assembleWasm',
      'checkWasmPackage',
      'validatePackage',
      'inspectPackage',
      'runCommandInVm',
      'whichInVm',
      'describeVm',
      'runAgent',
      'writeAospkg',
      'readAospkgPackage',
      'extractAospkg',
      'defineSoftware',
      'checkSnapshotSafety',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function')
    }
  })

  it('packs, validates, archives and reads back the Node.js quick start', async () => {
    const installed = join(ROOT, 'fixtures/examples/my-tool-package/node_modules')
    cpSync(join(installed, 'my-tool'), join(work, 'my-tool'), {recursive: true})
    cpSync(join(installed, 'ms'), join(work, 'my-tool/node_modules/ms'), {recursive: true})

    const packed = await api.pack({source: './my-tool', cwd: work, format: 'both'})
    expect(packed.commands).toEqual([{name: 'my-tool', entry: 'node_modules/my-tool/cli.js'}])
    const report = await api.validatePackage(packed.out)
    expect(report.ok).toBe(true)
    const archived = await api.readAospkgPackage(packed.aospkg!.path, {digest: true})
    expect(archived.digest).toBe(packed.digest)
  })

  it('runs a WASM command in the emulated VM and captures its output', async () => {
    const dir = await wasmCmdsPackage(work)
    expect(api.defineSoftware({packageDir: dir})).toMatchObject({packageDir: dir})
    const run = await api.runCommandInVm({
      inputs: [dir],
      command: 'echo',
      args: ['via', 'api'],
      capture: true,
    })
    expect(run).toMatchObject({exitCode: 0, stdout: 'via api\n', isolation: 'wasi'})
  })
})
