// `pack` through bin/run.js takes a fast path (src/cli/fast/pack.ts, loaded from one bundle with a
// code cache) instead of oclif. Its results, messages and exit codes must be the oclif command's,
// and everything it does not handle itself must reach oclif unchanged. Against the single binary
// (AGENTOS_TOOLCHAIN_EXE) the same expectations hold through oclif alone.
import {chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runInProcess, runProcess} from '../helpers/cli.js'
import {binRunJs, requires} from '../helpers/requirements.js'

let work: string
let project: string

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-fast-'))
  // The README's my-tool project with its installed node_modules, as scripts/demo.mjs builds it.
  project = join(work, 'my-tool')
  const installed = join(ROOT, 'fixtures/examples/my-tool-package/node_modules')
  cpSync(join(installed, 'my-tool'), project, {recursive: true})
  cpSync(join(installed, 'ms'), join(project, 'node_modules/ms'), {recursive: true})
})
afterAll(() => {
  rmSync(work, {recursive: true, force: true})
})

const withoutOut = (json: string, out: string) => JSON.parse(json.replaceAll(out, '<out>'))

describe('pack through bin/run.js and through the oclif command', () => {
  it('gives the same JSON result', async () => {
    const fast = await runProcess(['pack', project, '--out', join(work, 'fast'), '--json'])
    const oclif = await runInProcess(['pack', project, '--out', join(work, 'oclif'), '--json'])
    expect(fast.exitCode, fast.stderr).toBe(0)
    expect(oclif.exitCode, oclif.stderr).toBe(0)
    expect(fast.stderr).toBe('')
    const result = withoutOut(fast.stdout, join(work, 'fast'))
    expect(result).toEqual(withoutOut(oclif.stdout, join(work, 'oclif')))
    expect(result).toMatchObject({name: 'my-tool', out: '<out>', packages: 2})
  })

  it('gives the same text, with progress lines on stderr in CI', async () => {
    const options = {env: {CI: 'true'}}
    const fast = await runProcess(['pack', project, '-o', join(work, 'fast-text'), '--prune-native'], options)
    const oclif = await runInProcess(['pack', project, '-o', join(work, 'oclif-text'), '--prune-native'])
    expect(fast.exitCode, fast.stderr).toBe(0)
    expect(fast.stdout.replaceAll(join(work, 'fast-text'), '<out>')).toBe(
      oclif.stdout.replaceAll(join(work, 'oclif-text'), '<out>'),
    )
    expect(fast.stdout).toMatch(/^packed my-tool@1\.0\.0 → /)
    expect(fast.stderr).toMatch(/^✔ Resolve the source and its production closure: using the installed/m)
    expect(fast.stderr).toMatch(/^✔ Write the package into place: /m)
  })

  it('reports a coded error the same way, without a stack trace', async () => {
    const missing = join(work, 'no-such-project')
    const fast = await runProcess(['pack', missing, '--json'])
    const oclif = await runInProcess(['pack', missing, '--json'])
    expect(fast.exitCode).toBe(1)
    expect(oclif.exitCode).toBe(1)
    expect(JSON.parse(fast.stdout)).toEqual(JSON.parse(oclif.stdout))
    expect(JSON.parse(fast.stdout).error.code).toMatch(/^ERR_AGENTOS_/)
    const text = await runProcess(['pack', missing])
    expect(text.exitCode).toBe(1)
    expect(text.stderr).toMatch(/^error ERR_AGENTOS_\w+: .*\n {2}hint: /)
    expect(hasStackTrace(text.stderr)).toBe(false)
  })

  it.each([
    ['an unknown flag', ['--bogus'], /Nonexistent flag: --bogus/],
    ['a repeated flag', ['--out', 'a', '--out', 'b'], /--out can only be specified once/],
    ['a second source', ['other'], /Unexpected argument: other/],
    ['an unknown layout', ['--layout', 'deep'], /Expected --layout=deep to be one of: flat, versioned/],
    ['an unknown format', ['--format=zip'], /Expected --format=zip to be one of: dir, aospkg, both/],
    ['a flag without its value', ['--out'], /Flag --out expects a value/],
  ])('leaves %s to oclif: a usage error, exit 2', async (_what, extra, message) => {
    const result = await runProcess(['pack', project, ...extra, '--json'])
    expect(result.exitCode).toBe(2)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('ERR_AGENTOS_USAGE')
    expect(error.message).toMatch(message)
  })

  it('leaves --help and a missing source to oclif', async () => {
    const help = await runProcess(['pack', '--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('USAGE')
    expect(help.stdout).toContain('--prune-native')
    const none = await runProcess(['pack'])
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toContain('Missing 1 required arg')
  })
})

describe("the pack bundle's code cache", () => {
  const uid = process.getuid?.() ?? 0
  const nodeCachesItself = Number(process.versions.node.split('.')[0]) >= 22
  beforeEach((context) => {
    requires(context, binRunJs)
  })

  it('is kept in a private directory under TMPDIR, never under HOME, and reused', async () => {
    const temp = join(work, 'tmp-private')
    const home = join(work, 'home')
    mkdirSync(temp)
    mkdirSync(home)
    const env = {TMPDIR: temp, HOME: home, XDG_CACHE_HOME: join(home, '.cache')}
    for (const out of ['cached-1', 'cached-2']) {
      const result = await runProcess(['pack', project, '--out', join(work, out), '--json'], {env})
      expect(result.exitCode, result.stderr).toBe(0)
    }
    expect(readdirSync(home)).toEqual([])
    const dir = join(temp, `agentos-toolchain-compile-cache-${uid}`)
    if (nodeCachesItself) {
      // Node.js 22+ keeps its own compile cache (module.enableCompileCache) in the temp dir.
      expect(readdirSync(temp)).not.toContain(`agentos-toolchain-compile-cache-${uid}`)
      return
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const files = readdirSync(dir)
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^[0-9a-f]+-\d+\.v8$/)
    expect(statSync(join(dir, files[0]!)).size).toBeGreaterThan(100_000)
  })

  it('is not trusted in a directory others can write to', async (context) => {
    if (nodeCachesItself) context.skip('Node.js ≥ 22 keeps its own compile cache, so ours is not used')
    const temp = join(work, 'tmp-open')
    const dir = join(temp, `agentos-toolchain-compile-cache-${uid}`)
    mkdirSync(dir, {recursive: true, mode: 0o777})
    // mkdir's mode goes through the umask; make it really open.
    chmodSync(dir, 0o777)
    const result = await runProcess(['pack', project, '--out', join(work, 'open'), '--json'], {
      env: {TMPDIR: temp},
    })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(readdirSync(dir)).toEqual([])
  })
})
