import {cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runInProcess} from '../helpers/cli.js'
import {watFileToWasm, watToWasm} from '../helpers/wasm.js'

const REACTOR = '(module (memory (export "memory") 1) (func (export "_initialize")))'

let work: string
let project: string
let n = 0
const out = () => join(work, `out-${n++}`)

// In-process runs share the test process's cwd (the repository), so every run names --project or
// --name/--version and --out explicitly.
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-assemble-cmd-'))
  project = join(work, 'my-cmds')
  await cp(join(ROOT, 'fixtures/examples/my-cmds'), project, {recursive: true})
  await mkdir(join(project, 'build'))
  for (const name of ['tool-a', 'tool-b']) {
    await writeFile(
      join(project, 'build', `${name}.wasm`),
      await watFileToWasm(join(project, 'wat', `${name}.wat`)),
    )
  }
  await writeFile(join(work, 'lib.wasm'), await watToWasm(REACTOR))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('assemble-wasm (in-process)', () => {
  it('assembles the example and prints exactly one JSON document with --json', async () => {
    const target = out()
    const result = await runInProcess([
      'assemble-wasm',
      join(project, 'build'),
      '--project',
      project,
      '--out',
      target,
      '--json',
    ])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({
      ok: true,
      written: true,
      name: 'my-cmds',
      version: '1.0.0',
      out: target,
      problems: [],
    })
    expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(report.commands).toHaveLength(2)
    expect(report.commands[0]).toMatchObject({
      name: 'tool-a',
      entry: 'bin/tool-a',
      size: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      facts: {layer: 'core', exports: {start: true, memory: true}, memory: {initialPages: 1}},
    })
    expect((await readdir(target)).sort()).toEqual([
      '.agentos-output.json',
      'agentos-package.json',
      'bin',
      'package.json',
    ])

    const validate = await runInProcess(['validate', target, '--json'])
    expect(validate.exitCode).toBe(0)
    expect(JSON.parse(validate.stdout).ok).toBe(true)
  })

  it('gives the same digest on a second run', async () => {
    const args = ['assemble-wasm', join(project, 'build/*.wasm'), '--project', project, '--json']
    const first = JSON.parse((await runInProcess([...args, '--out', out()])).stdout)
    const second = JSON.parse((await runInProcess([...args, '--out', out()])).stdout)
    expect(first.digest).toBe(second.digest)
  })

  it('renders the commands, the digest and the output path for people', async () => {
    const target = out()
    const result = await runInProcess([
      'assemble-wasm',
      join(project, 'build'),
      '--project',
      project,
      '-o',
      target,
    ])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/NAME\s+FROM\s+SIZE\s+SHA256\s+MEMORY\s+IMPORTS/)
    expect(result.stdout).toMatch(/tool-a .* [0-9a-f]{12} +64 kB +wasi_snapshot_preview1 \(1\)/)
    expect(result.stdout).toMatch(/✔ assembled my-cmds@1\.0\.0 → .*out-\d+ \(2 commands, 4 files/)
    expect(result.stdout).toMatch(/digest: sha256:[0-9a-f]{64}/)
  })

  it('accepts --name, --version, --command (shared module) and --force', async () => {
    const target = out()
    await mkdir(target)
    await writeFile(join(target, 'foreign.txt'), 'x')
    const args = [
      'assemble-wasm',
      '--command',
      `one=${join(project, 'build/tool-a.wasm')}`,
      '--command',
      `two=${join(project, 'build/tool-a.wasm')}`,
      '--name',
      '@acme/shared',
      '--version',
      '9.8.7',
      '--project',
      work,
      '--out',
      target,
      '--json',
    ]
    const refused = await runInProcess(args)
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout)).toMatchObject({ok: false, error: {code: 'ERR_AGENTOS_OUT_NOT_EMPTY'}})
    expect(await readdir(target)).toEqual(['foreign.txt'])

    const forced = await runInProcess([...args, '--force'])
    expect(forced.exitCode).toBe(0)
    expect(JSON.parse(await readFile(join(target, 'package.json'), 'utf8'))).toEqual({
      name: '@acme/shared',
      version: '9.8.7',
      bin: {one: 'bin/one', two: 'bin/two'},
    })
    expect(JSON.parse(await readFile(join(target, 'agentos-package.json'), 'utf8'))).toEqual({
      name: 'shared',
      version: '9.8.7',
    })
  })

  it('exits 1 with every module problem listed and nothing written', async () => {
    const target = out()
    const result = await runInProcess([
      'assemble-wasm',
      join(work, 'lib.wasm'),
      join(project, 'build/tool-a.wasm'),
      '--name',
      'x',
      '--version',
      '1.0.0',
      '--project',
      work,
      '--out',
      target,
      '--json',
    ])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ok: false, written: false, summary: {errors: 1}})
    expect(report.problems.map((p: {code: string}) => p.code)).toEqual(['ERR_AGENTOS_WASM_REACTOR'])
    await expect(readdir(target)).rejects.toMatchObject({code: 'ENOENT'})

    const human = await runInProcess([
      'assemble-wasm',
      join(work, 'lib.wasm'),
      '--name',
      'x',
      '--version',
      '1.0.0',
      '--project',
      work,
      '--out',
      target,
    ])
    expect(human.exitCode).toBe(1)
    expect(human.stdout).toContain('ERR_AGENTOS_WASM_REACTOR')
    expect(human.stdout).toContain('✖ not assembled: 1 error')
  })

  it('reports coded errors without stack traces (exit 1)', async () => {
    const result = await runInProcess([
      'assemble-wasm',
      join(work, 'missing.wasm'),
      '--name',
      'x',
      '--version',
      '1.0.0',
      '--out',
      out(),
    ])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('error ERR_AGENTOS_ASSEMBLE_INPUT_MISSING')
    expect(result.stderr).toContain('hint:')
    expect(hasStackTrace(result.stderr)).toBe(false)
  })

  it.each([
    [['assemble-wasm', '--out', '/tmp/never'], 'ERR_AGENTOS_ASSEMBLE_NO_INPUTS'],
    [['assemble-wasm', '--check', '/tmp/x', 'a.wasm'], 'ERR_AGENTOS_USAGE'],
    [['assemble-wasm', '--check', '/tmp/x', '--out', '/tmp/y'], 'ERR_AGENTOS_USAGE'],
    [['assemble-wasm', 'a.wasm', '--bogus'], 'ERR_AGENTOS_USAGE'],
    [['assemble-wasm', 'a.wasm', '--version'], 'ERR_AGENTOS_USAGE'],
    [['assemble-wasm', '--command', 'no-equals', '--out', '/tmp/never'], 'ERR_AGENTOS_ASSEMBLE_COMMAND_FLAG'],
  ])('exits 2 for the usage error %j', async (args, code) => {
    const result = await runInProcess([...args, '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({ok: false, error: {code}})
  })

  it('--check writes only the missing manifest, then finds it present', async () => {
    const dir = join(work, 'hand')
    await mkdir(join(dir, 'bin'), {recursive: true})
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({name: 'hand', version: '1.0.0', bin: {a: 'bin/a'}}),
    )
    await writeFile(join(dir, 'bin/a'), await readFile(join(project, 'build/tool-a.wasm')), {mode: 0o755})
    const first = await runInProcess(['assemble-wasm', '--check', dir, '--json'])
    expect(first.exitCode).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({
      ok: true,
      manifest: 'created',
      wrote: ['agentos-package.json'],
    })
    expect((await readdir(dir)).sort()).toEqual(['agentos-package.json', 'bin', 'package.json'])
    const second = await runInProcess(['assemble-wasm', '--check', dir])
    expect(second.exitCode).toBe(0)
    expect(second.stdout).toContain('✔ valid')
    expect(second.stdout).toContain('already present, nothing written')
  })

  it('--check exits 1 for a bad command module', async () => {
    const dir = join(work, 'hand-bad')
    await mkdir(join(dir, 'bin'), {recursive: true})
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({name: 'bad', version: '1.0.0', bin: {lib: 'bin/lib'}}),
    )
    await writeFile(join(dir, 'bin/lib'), await readFile(join(work, 'lib.wasm')), {mode: 0o755})
    const result = await runInProcess(['assemble-wasm', '--check', dir, '--json'])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ok: false, manifest: 'not-written'})
    expect(report.problems.map((p: {code: string}) => p.code)).toContain('ERR_AGENTOS_WASM_REACTOR')
    expect(await readdir(dir)).not.toContain('agentos-package.json')
  })
})
