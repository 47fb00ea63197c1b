import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, runProcess} from '../helpers/cli.js'
import {wasmCmdsPackage} from '../helpers/run-fixtures.js'

// The built CLI on its fast path (bin/run.js, the run bundle): a manifest validate refuses stops
// `run` before the VM is set up, with validate's code, exit 125 and no stack trace. The rules
// themselves are covered in-process (test/unit/run/vm/mount.test.ts).
let work: string
let wasm: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-manifest-e2e-'))
  wasm = await wasmCmdsPackage(work)
  await mkdir(join(wasm, 'etc'))
  await writeFile(join(wasm, 'etc/x.conf'), 'x = 1\n')
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

const withManifest = async (manifest: unknown) => {
  await writeFile(join(wasm, 'agentos-package.json'), JSON.stringify(manifest))
  return wasm
}

describe('run: a manifest validate refuses', () => {
  it.each<[string, unknown, string]>([
    // Used to end in an uncoded ERR_FS_CP_NON_DIR_TO_DIR stack trace while copying the overlay.
    [
      'a provides.files target of /opt',
      {name: 'wasm-cmds', provides: {files: [{source: 'etc/x.conf', target: '/opt'}]}},
      'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
    ],
    ...['/sys/x', '/tmp', '/home/agentos'].map((target): [string, unknown, string] => [
      `a provides.files target of ${target}`,
      {name: 'wasm-cmds', provides: {files: [{source: 'etc/x.conf', target}]}},
      'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
    ]),
    // Used to mount under the npm name and run.
    ['a null manifest', null, 'ERR_AGENTOS_MANIFEST_NOT_OBJECT'],
    ['an array manifest', [], 'ERR_AGENTOS_MANIFEST_NOT_OBJECT'],
  ])('%s: exit 125 with its code, as text and as one JSON document', async (_label, manifest, code) => {
    const dir = await withManifest(manifest)
    const text = await runProcess(['run', dir, '--', 'echo', 'hi'])
    expect(text.exitCode, text.stderr).toBe(125)
    expect(text.stdout).toBe('')
    expect(text.stderr).toMatch(new RegExp(`^error ${code}: ${dir} cannot be mounted: .*\\n  hint: .+\\n$`))
    expect(hasStackTrace(text.stderr), text.stderr).toBe(false)

    const json = await runProcess(['run', dir, '--json', '--', 'echo', 'hi'])
    expect(json.exitCode).toBe(125)
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: {code, path: join(dir, 'agentos-package.json'), details: {problems: [{code}]}},
    })
  })
})
