// Opt-in (network): `npm run test:registry`. The spec's agent quickstart, as written:
// `pack @agentos-software/pi --agent pi-sdk-acp --prune-native`. The package must carry the agent
// SDK bundle at its root (dist/sdk-snapshot.js): without it runtime 0.2.21 fails `session/new`
// with "'./pkce.js' does not provide an export named 'generatePKCE'". Where a real runtime is
// given (AGENTOS_TOOLCHAIN_RUNTIME=<dir holding node_modules/@rivet-dev/agentos-core>), the
// package opens a session in it.
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pack} from '../../src/pack/pack.js'
import type {PackResult} from '../../src/pack/types.js'
import {validatePackage} from '../../src/package/validate.js'
import {runAgent} from '../../src/run/emulation/agent/agent.js'
import {ISOLATIONS, requiresIsolation} from '../helpers/requirements.js'

const ENABLED = process.env.AGENTOS_NPM_REGISTRY_TESTS === '1'
const SPEC = '@agentos-software/pi@0.2.7'
const RUNTIME = process.env.AGENTOS_TOOLCHAIN_RUNTIME
const CORE = RUNTIME ? join(RUNTIME, 'node_modules/@rivet-dev/agentos-core/dist/index.js') : undefined

describe.skipIf(!ENABLED)(`pack ${SPEC} --agent pi-sdk-acp --prune-native`, () => {
  let dir: string
  let result: PackResult

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-npm-pi-pack-'))
    result = await pack({
      source: SPEC,
      cwd: dir,
      out: join(dir, 'packages'),
      agent: 'pi-sdk-acp',
      pruneNative: true,
    })
  }, 600_000)
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('places the SDK bundle from the agent package at the root, with its checksum', async () => {
    expect(result.out).toBe(join(dir, 'packages/pi/0.2.7'))
    expect(result.snapshotBundle).toMatchObject({
      path: 'dist/sdk-snapshot.js',
      from: 'node_modules/@agentos-software/pi/dist/sdk-snapshot.js',
      sha256File: 'dist/sdk-snapshot.js.sha256',
    })
    const bundle = await readFile(join(result.out, 'dist/sdk-snapshot.js'))
    const recorded = (await readFile(join(result.out, 'dist/sdk-snapshot.js.sha256'), 'utf8')).trim()
    expect(createHash('sha256').update(bundle).digest('hex')).toBe(recorded)
    const manifest = JSON.parse(await readFile(join(result.out, 'agentos-package.json'), 'utf8'))
    expect(manifest.agent).toEqual({acpEntrypoint: 'pi-sdk-acp', snapshot: true})
    const report = await validatePackage(result.out)
    expect(report.problems.map((p) => p.code)).not.toContain('WARN_AGENTOS_RUNTIME_SNAPSHOT_BUNDLE_MISSING')
  })

  it('leaves out the archive pi ships of itself, and names it in the closure report', () => {
    expect(result.closure.leftOutFiles).toEqual([
      {
        path: 'node_modules/@agentos-software/pi/dist/package.aospkg',
        bytes: expect.any(Number),
        reason: 'own-aospkg',
      },
    ])
    expect(result.closure.leftOutFiles[0]!.bytes).toBeGreaterThan(100_000_000)
    expect(existsSync(join(result.out, 'node_modules/@agentos-software/pi/dist/package.aospkg'))).toBe(false)
    expect(existsSync(join(result.out, 'node_modules/@agentos-software/pi/dist/adapter.js'))).toBe(true)
    expect(result.bytes).toBeLessThan(150_000_000)
  })

  it('opens a session in the real runtime, as agent pi-sdk-acp', async (context) => {
    if (!CORE || !existsSync(CORE)) {
      context.skip('agentOS runtime not given (AGENTOS_TOOLCHAIN_RUNTIME=<dir with @rivet-dev/agentos-core>)')
    }
    const {AgentOs} = (await import(pathToFileURL(CORE!).href)) as {
      AgentOs: {create(options: object): Promise<AgentVm>}
    }
    const vm = await AgentOs.create({
      software: [{packagePath: result.out}],
      database: {type: 'sqlite_file', path: join(dir, 'vm.sqlite')},
    })
    try {
      await vm.sessions.open({agent: 'pi', sessionId: 's1'})
      expect(await vm.sessions.getAgentInfo({sessionId: 's1'})).toMatchObject({name: 'pi-sdk-acp'})
    } finally {
      await vm.dispose()
    }
  }, 120_000)
})

describe.skipIf(!ENABLED)(`pack ${SPEC}: the emulation opens its session in each isolation mode`, () => {
  let dir: string
  let out: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-npm-pi-run-'))
    out = (
      await pack({source: SPEC, cwd: dir, out: join(dir, 'packages'), agent: 'pi-sdk-acp', pruneNative: true})
    ).out
  }, 600_000)
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  // Path-mapped once failed session/new: the session cwd /home/agentos reached pi unmapped (ENOENT
  // on chdir). Path-mapped copies the package (~15 000 files) per run: about a minute.
  it.for(ISOLATIONS)(
    'run --agent --isolation %s: initialize and session/new answer',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const report = await runAgent({inputs: [out], args: [], isolation})
      expect(report.outcome, report.stderrTail).toBe('ok')
      expect(report).toMatchObject({
        isolation,
        agentInfo: {name: 'pi-sdk-acp'},
        sessionId: expect.any(String),
      })
    },
    300_000,
  )
})

/** The part of the runtime's VM this test uses. */
interface AgentVm {
  sessions: {
    open(options: {agent: string; sessionId: string}): Promise<unknown>
    getAgentInfo(options: {sessionId: string}): Promise<{name?: string}>
  }
  dispose(): Promise<void>
}
