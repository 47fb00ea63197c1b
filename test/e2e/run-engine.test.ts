import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, runProcess} from '../helpers/cli.js'
import {example} from '../helpers/run-fixtures.js'

// `run --engine agentos` and `runtime list` on a machine without the runtime: an empty cache, a
// working directory outside any project, no AGENTOS_TOOLCHAIN_RUNTIME.
let work: string
let options: {cwd: string; env: NodeJS.ProcessEnv}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-engine-'))
  options = {cwd: work, env: {AGENTOS_TOOLCHAIN_CACHE: join(work, 'cache'), AGENTOS_TOOLCHAIN_RUNTIME: ''}}
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('run --engine agentos without a runtime', () => {
  it('exits 1 with ERR_AGENTOS_RUNTIME_NOT_FOUND, where it looked, and the install hint', async () => {
    const result = await runProcess(
      ['run', '--engine', 'agentos', example('my-tool-package'), '--', 'x'],
      options,
    )
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('error ERR_AGENTOS_RUNTIME_NOT_FOUND')
    expect(result.stderr).toContain(join(work, 'cache', 'runtime'))
    expect(result.stderr).toContain('hint: agentos-toolchain runtime install')
    expect(hasStackTrace(result.stderr)).toBe(false)
  })

  it('--json: one JSON document with the coded error', async () => {
    const result = await runProcess(
      ['run', '--engine', 'agentos', example('my-tool-package'), '--json', '--', 'x'],
      options,
    )
    expect(result.exitCode).toBe(1)
    const doc = JSON.parse(result.stdout) as {ok: boolean; error: {code: string; hint: string}}
    expect(doc.ok).toBe(false)
    expect(doc.error.code).toBe('ERR_AGENTOS_RUNTIME_NOT_FOUND')
    expect(doc.error.hint).toContain('runtime install')
  })

  it('refuses the emulation-only flags, and the runtime flags without the engine (exit 2)', async () => {
    const keepRoot = await runProcess(
      ['run', '--engine', 'agentos', '--keep-root', example('my-tool-package'), '--', 'x'],
      options,
    )
    expect(keepRoot.exitCode).toBe(2)
    expect(keepRoot.stderr).toContain('--keep-root belongs to the emulation')
    const isolation = await runProcess(
      ['run', '--engine', 'agentos', '--isolation', 'bwrap', example('my-tool-package'), '--', 'x'],
      options,
    )
    expect(isolation.exitCode).toBe(2)
    const verbose = await runProcess(
      ['run', '--verbose', example('my-tool-package'), '--', 'my-tool'],
      options,
    )
    expect(verbose.exitCode).toBe(2)
    expect(verbose.stderr).toContain('--verbose needs --engine agentos')
    const engine = await runProcess(
      ['run', '--engine', 'qemu', example('my-tool-package'), '--', 'x'],
      options,
    )
    expect(engine.exitCode).toBe(2)
  })

  it('an explicit --runtime that holds no runtime is an error naming it', async () => {
    const result = await runProcess(
      ['run', '--engine', 'agentos', '--runtime', work, example('my-tool-package'), '--', 'x'],
      options,
    )
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain(`ERR_AGENTOS_RUNTIME_INVALID: --runtime ${work}`)
  })
})

describe('runtime list', () => {
  it('--json works with nothing installed', async () => {
    const result = await runProcess(['runtime', 'list', '--json'], options)
    expect(result.exitCode).toBe(0)
    const doc = JSON.parse(result.stdout) as Record<string, unknown>
    expect(doc).toMatchObject({ok: true, cacheDir: join(work, 'cache', 'runtime'), installed: []})
    expect(doc.selected).toBeUndefined()
    expect(doc.looked).toContain(`the cache ${join(work, 'cache', 'runtime')}`)
  })

  it('says how to get one, in words', async () => {
    const result = await runProcess(['runtime', 'list'], options)
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('agentos-toolchain runtime install')
  })

  it('runtime install --help is the topic command, not a fast path', async () => {
    const result = await runProcess(['runtime', 'install', '--help'], options)
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('runtime install [VERSION]')
  })
})
