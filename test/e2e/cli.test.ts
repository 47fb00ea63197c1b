import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create as createTar} from 'tar'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runProcess} from '../helpers/cli.js'

const example = (name: string) => join(ROOT, 'fixtures/examples', name)
let work: string

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-e2e-'))
})
afterAll(() => {
  rmSync(work, {recursive: true, force: true})
})

describe('the CLI as a real process', () => {
  it('prints its version and help', async () => {
    const version = await runProcess(['--version'])
    expect(version.exitCode).toBe(0)
    expect(version.stdout).toMatch(/^agentos-toolchain\/\d+\.\d+\.\d+ /)
    const help = await runProcess(['--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('validate')
    expect(help.stdout).toContain('inspect')
  })

  it('takes -h for --help, on the CLI and on every command', async () => {
    for (const args of [[], ['pack'], ['assemble-wasm'], ['inspect'], ['validate'], ['run']]) {
      const [short, long] = await Promise.all([runProcess([...args, '-h']), runProcess([...args, '--help'])])
      expect(short.exitCode, `${args.join(' ')} -h: ${short.stderr}`).toBe(0)
      expect(short.stdout).toBe(long.stdout)
      expect(short.stdout).toContain('USAGE')
    }
  })

  it('hands -h to oclif from the pack and run fast paths, but to the guest after --', async () => {
    // Shapes the fast paths would otherwise take: a source, a package.
    for (const args of [
      ['pack', '.', '-h'],
      ['run', example('my-tool-package'), '-h'],
    ]) {
      const result = await runProcess(args)
      expect(result.exitCode, args.join(' ')).toBe(0)
      expect(result.stdout).toContain(`$ agentos-toolchain ${args[0]} `)
    }
    const guest = await runProcess(['run', example('my-tool-package'), '--json', '--', 'my-tool', '-h'])
    expect(guest.exitCode, guest.stderr).toBe(0)
    expect(JSON.parse(guest.stdout).argv.at(-1)).toBe('-h')
  })

  it('exits 0 / 1 / 2 for valid / invalid / usage', async () => {
    expect((await runProcess(['validate', example('my-tool-package')])).exitCode).toBe(0)
    const invalid = await runProcess(['validate', join(ROOT, 'fixtures/examples/my-cmds'), '--json'])
    expect(invalid.exitCode).toBe(1)
    expect(JSON.parse(invalid.stdout).ok).toBe(false)
    expect((await runProcess(['validate'])).exitCode).toBe(2)
    expect((await runProcess(['validate', '.', '--bogus'])).exitCode).toBe(2)
  })

  it('suggests a command for a typo and exits 2', async () => {
    const result = await runProcess(['valdate', 'x'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('not a agentos-toolchain command')
  })

  it('answers an unknown command under --json with one coded JSON document, exit 2', async () => {
    const result = await runProcess(['valdate', 'x', '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({
      ok: false,
      error: {
        code: 'ERR_AGENTOS_USAGE',
        message: '"valdate" is not an agentos-toolchain command',
        hint: 'Run agentos-toolchain --help for the commands.',
      },
    })
    expect(hasStackTrace(result.stderr)).toBe(false)
    // A usage error of a known command stays that command's own single document.
    const flag = await runProcess(['validate', '.', '--bogus', '--json'])
    expect(flag.exitCode).toBe(2)
    expect(JSON.parse(flag.stdout).error.code).toBe('ERR_AGENTOS_USAGE')
  })

  it('keeps stdout one JSON document and stderr free of stack traces for every failure', async () => {
    const notTar = join(work, 'not-a-tar.tgz')
    writeFileSync(notTar, 'this is not a tarball')
    const truncated = join(work, 'truncated.tgz')
    const whole = join(work, 'whole.tgz')
    await createTar({gzip: true, file: whole, cwd: example('my-tool-package'), portable: true}, ['.'])
    writeFileSync(truncated, execFileSync('head', ['-c', '200', whole]))
    const badJson = join(work, 'bad-json')
    mkdirSync(badJson)
    writeFileSync(join(badJson, 'package.json'), '{"name": "x", "bin": {')
    writeFileSync(join(badJson, 'agentos-package.json'), '[1, 2')
    for (const [command, target] of [
      ['validate', join(work, 'missing')],
      ['inspect', join(work, 'missing')],
      ['inspect', notTar],
      ['inspect', truncated],
      ['validate', truncated],
      ['validate', badJson],
      ['inspect', badJson],
    ] as const) {
      const result = await runProcess([command, target, '--json'])
      expect(hasStackTrace(result.stderr), `${command} ${target}: ${result.stderr}`).toBe(false)
      const document = JSON.parse(result.stdout)
      expect(typeof document).toBe('object')
      expect(result.exitCode, `${command} ${target}`).toBe(
        command === 'inspect' && target === badJson ? 0 : 1,
      )
    }
  })
})

describe('inspect of a tarball', () => {
  it('reads an npm-style .tgz in place and gives the directory digest', async () => {
    const tgz = join(work, 'my-agent-0.3.0.tgz')
    await createTar(
      {gzip: true, file: tgz, cwd: example('my-agent-package'), portable: true, prefix: 'package'},
      ['.'],
    )
    const scratch = mkdtempSync(join(work, 'tmp-'))
    const fromTar = await runProcess(['inspect', tgz, '--json'], {env: {TMPDIR: scratch}})
    const fromDir = await runProcess(['inspect', example('my-agent-package'), '--json'])
    expect(fromTar.exitCode).toBe(0)
    const tarReport = JSON.parse(fromTar.stdout)
    const dirReport = JSON.parse(fromDir.stdout)
    expect(tarReport.source).toMatchObject({type: 'tarball', prefix: 'package'})
    expect(tarReport.digest).toBe(dirReport.digest)
    expect(tarReport.commands).toEqual(dirReport.commands)
    expect(tarReport.validation.ok).toBe(true)
    // Nothing was extracted: the temp dir the process was given is still empty.
    expect(readdirSync(scratch)).toEqual([])
  })

  it('reads a plain .tar without a package/ prefix', async () => {
    const tar = join(work, 'my-tool.tar')
    await createTar({file: tar, cwd: example('my-tool-package'), portable: true}, ['.'])
    const result = await runProcess(['inspect', tar, '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({name: 'my-tool', version: '1.0.0', source: {type: 'tarball'}})
    expect(report.source.prefix).toBeUndefined()
  })
})
