import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runInProcess} from '../helpers/cli.js'

const example = (name: string) => join(ROOT, 'fixtures/examples', name)

describe('run (in-process)', () => {
  it('describes the VM without a command, as one JSON document with --json', async () => {
    const result = await runInProcess(['run', example('my-tool-package'), '--json'])
    expect(result).toMatchObject({exitCode: 0, handled: true})
    const report = JSON.parse(result.stdout)
    expect(JSON.stringify(report)).toContain('/opt/agentos/bin')
    expect(JSON.stringify(report)).toContain('my-tool')
  })

  it('resolves a command with --which and runs nothing', async () => {
    const result = await runInProcess(['run', example('my-tool-package'), '--which', 'my-tool', '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.stringify(JSON.parse(result.stdout))).toContain('/opt/agentos/bin/my-tool')
  })

  it('refuses a missing package with a coded error and exit 125, no stack trace', async () => {
    const result = await runInProcess(['run', join(ROOT, 'no-such-package'), '--json', '--', 'x'])
    expect(result).toMatchObject({exitCode: 125, handled: true})
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      error: {code: 'ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND'},
    })
    expect(hasStackTrace(result.stderr)).toBe(false)
  })

  it('refuses emulation-only flags with the real engine as a usage error, exit 2', async () => {
    const result = await runInProcess([
      'run',
      '--engine',
      'agentos',
      '--keep-root',
      example('my-tool-package'),
      '--json',
      '--',
      'my-tool',
    ])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({ok: false})
  })
})
