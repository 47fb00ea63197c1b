import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {inspectPackage} from '../../src/package/inspect.js'
import {runAgent} from '../../src/run/emulation/agent/agent.js'
import {validatePackage} from '../../src/package/validate.js'

// Opt-in (network): `npm run test:registry`. The pi coding agent as published: an npm tarball whose
// dist/package.aospkg (131 MB, ~14 600 files) is the agent package, with an SDK snapshot bundle.
const ENABLED = process.env.AGENTOS_NPM_REGISTRY_TESTS === '1'
const SPEC = '@agentos-software/pi@0.2.7'
const INTEGRITY =
  'sha512-nOdwksByJgTqt92Ya84CzTGxpVFwGI6gkGWaCD/mmvP11JRA++1nshNdbig2mtiaxT7VG3ovWJmK7ZLTTzkhPA=='

describe.skipIf(!ENABLED)(`${SPEC} from the npm registry`, () => {
  let dir: string
  let tarball: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-npm-pi-'))
    const packed = spawnSync('npm', ['pack', SPEC, '--json', '--pack-destination', dir], {
      encoding: 'utf8',
      timeout: 300_000,
    })
    if (packed.status !== 0) throw new Error(`npm pack ${SPEC} failed: ${packed.stderr}`)
    tarball = join(dir, (JSON.parse(packed.stdout) as Array<{filename: string}>)[0]!.filename)
  }, 320_000)
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('is the pinned tarball', async () => {
    const bytes = await readFile(tarball)
    expect(`sha512-${createHash('sha512').update(bytes).digest('base64')}`).toBe(INTEGRITY)
  })

  it('inspects in place: the archive inside the tarball, its commands and its agent manifest', async () => {
    const report = await inspectPackage(tarball)
    expect(report.source).toMatchObject({type: 'aospkg', member: 'package/dist/package.aospkg'})
    expect(report).toMatchObject({
      name: 'pi',
      npmName: '@agentos-software/pi',
      version: '0.2.7',
      agent: {acpEntrypoint: 'pi-sdk-acp', snapshot: true},
      validation: {ok: true},
    })
    expect(report.commands.map((c) => [c.name, c.kind])).toEqual([
      ['pi', 'shebang'],
      ['pi-sdk-acp', 'shebang'],
    ])
    expect(report.commands[1]!.entry).toBe('node_modules/@agentos-software/pi/dist/adapter.js')
  })

  it('checks the real SDK snapshot bundle: findings at lines of dist/sdk-snapshot.js, and the build outcome', async () => {
    const archive = join(dir, 'package.aospkg')
    const untar = spawnSync('tar', [
      '-xzf',
      tarball,
      '-C',
      dir,
      '--strip-components=2',
      'package/dist/package.aospkg',
    ])
    expect(untar.status, String(untar.stderr)).toBe(0)
    const report = await validatePackage(archive)
    // Warnings only: the runtime falls back to a cold start, so the package stays valid.
    expect(report.ok).toBe(true)
    const snapshot = report.problems.filter((p) => p.code.includes('_SNAPSHOT_'))
    const codes = new Set(snapshot.map((p) => p.code))
    expect(codes).toContain('WARN_AGENTOS_SNAPSHOT_ENV_READ')
    expect(codes).toContain('WARN_AGENTOS_SNAPSHOT_MATH_RANDOM')
    for (const finding of snapshot.filter(
      (p) => p.code.startsWith('WARN_AGENTOS_SNAPSHOT_') && p.path?.includes(':'),
    ))
      expect(finding.path).toMatch(/^dist\/sdk-snapshot\.js:\d+:\d+$/)
    expect(
      codes.has('INFO_AGENTOS_SNAPSHOT_BUILD_OK') || codes.has('WARN_AGENTOS_SNAPSHOT_BUILD_FAILED'),
    ).toBe(true)
    // The bundle's own links (bin/<cmd>, as the reference toolchain made them) stay inside the archive.
    expect(
      report.problems.filter((p) => p.code === 'WARN_AGENTOS_AOSPKG_SYMLINK').map((p) => p.path),
    ).toEqual(['bin/pi', 'bin/pi-sdk-acp'])
  }, 180_000)

  it('runs as an agent from its archive: initialize and session/new answer under run --agent', async () => {
    const archive = join(dir, 'package.aospkg')
    const saved = process.env.AGENTOS_TOOLCHAIN_CACHE
    process.env.AGENTOS_TOOLCHAIN_CACHE = join(dir, 'cache')
    try {
      const report = await runAgent({inputs: [archive], args: []})
      expect(report.outcome, report.stderrTail).toBe('ok')
      expect(report).toMatchObject({protocolVersion: 1, agent: {name: 'pi', acpEntrypoint: 'pi-sdk-acp'}})
      expect(report.agentInfo?.name).toBe('pi-sdk-acp')
      expect(report.sessionId).toEqual(expect.any(String))
    } finally {
      if (saved === undefined) delete process.env.AGENTOS_TOOLCHAIN_CACHE
      else process.env.AGENTOS_TOOLCHAIN_CACHE = saved
    }
  }, 180_000)
})
