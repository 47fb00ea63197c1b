import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runInProcess} from '../helpers/cli.js'

const example = (name: string) => join(ROOT, 'fixtures/examples', name)

describe('validate (in-process)', () => {
  it('accepts the example Node package and says so', async () => {
    const result = await runInProcess(['validate', example('my-tool-package')])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/✔ valid: .*my-tool-package — 0 errors, 0 warnings/)
  })

  it('prints exactly one JSON document with --json', async () => {
    const result = await runInProcess(['validate', example('my-agent-package'), '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    // The example follows the spec's text, which runtime 0.2.21 breaks in two places.
    expect(report).toMatchObject({ok: true, summary: {errors: 0, warnings: 2, commands: 2}})
    expect(report.problems.map((p: {code: string}) => p.code)).toEqual([
      'WARN_AGENTOS_RUNTIME_ENV_PATH',
      'WARN_AGENTOS_RUNTIME_PROVIDES_FILE_SOURCE',
    ])
  })

  it('exits 1 and lists coded problems for a broken package', async () => {
    const result = await runInProcess(['validate', join(ROOT, 'fixtures'), '--json'])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.ok).toBe(false)
    const codes = report.problems.map((p: {code: string}) => p.code)
    expect(codes).toContain('ERR_AGENTOS_PKG_JSON_MISSING')
    expect(codes).toContain('ERR_AGENTOS_MANIFEST_MISSING')
  })

  it('reports a missing target as a coded error, not a stack trace', async () => {
    const result = await runInProcess(['validate', join(ROOT, 'no-such-dir'), '--json'])
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      error: {code: 'ERR_AGENTOS_TARGET_NOT_FOUND'},
    })
    expect(hasStackTrace(result.stderr)).toBe(false)
  })

  it('is a usage error (exit 2) without the package argument', async () => {
    const result = await runInProcess(['validate'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('ERR_AGENTOS_USAGE')
  })

  it('usage errors stay one JSON document under --json', async () => {
    const result = await runInProcess(['validate', '--json', '--no-such-flag'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({ok: false, error: {code: 'ERR_AGENTOS_USAGE'}})
  })
})
