import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, runInProcess} from '../helpers/cli.js'
import {makeProject} from '../helpers/project.js'

describe('pack (in-process)', () => {
  let work: string
  let project: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'agentos-cmd-pack-'))
    project = await makeProject(work)
  })
  afterAll(() => rm(work, {recursive: true, force: true}))

  it('packs an installed project and prints one JSON document with --json', async () => {
    const out = join(work, 'out-json')
    const result = await runInProcess(['pack', project, '--out', out, '--json'])
    expect(result).toMatchObject({exitCode: 0, handled: true})
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({name: 'my-tool', out})
    expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const pkg = JSON.parse(await readFile(join(out, 'package.json'), 'utf8'))
    expect(pkg.bin).toEqual({'my-tool': 'node_modules/my-tool/cli.js'})
  })

  it('says what it packed in text, progress on stderr only', async () => {
    const result = await runInProcess(['pack', project, '-o', join(work, 'out-text')])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/my-tool/)
    expect(result.stdout).not.toMatch(/^\s*\{/)
  })

  it('refuses a missing source with a coded error, exit 1, no stack trace', async () => {
    const result = await runInProcess(['pack', join(work, 'nope'), '--json'])
    expect(result).toMatchObject({exitCode: 1, handled: true})
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      error: {code: 'ERR_AGENTOS_PACK_SOURCE_NOT_FOUND'},
    })
    expect(hasStackTrace(result.stderr)).toBe(false)
  })

  it('answers a flag value outside its options as a usage error, exit 2', async () => {
    const result = await runInProcess(['pack', project, '--format', 'zip', '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({ok: false, error: {code: 'ERR_AGENTOS_USAGE'}})
  })
})
