// An agent with `agent.snapshot: true` ships its SDK bundle where the runtime reads it: the root's
// dist/sdk-snapshot.js, copied from the agent's own package (as @agentos-software/pi ships it in
// node_modules/@agentos-software/pi/dist/). Without the bundle the runtime (0.2.21) falls back to
// per-session imports, which fails for pi; pack and validate say so.
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {inspectPackage} from '../../../src/package/inspect.js'
import {pack} from '../../../src/pack/pack.js'
import {validatePackage} from '../../../src/package/validate.js'
import {makeProject} from '../../helpers/project.js'

const BUNDLE = '(() => { globalThis.__sdk = {ready: true} })()\n'
const MISSING = 'WARN_AGENTOS_RUNTIME_SNAPSHOT_BUNDLE_MISSING'
let work: string

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-bundle-'))
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

/** my-tool as an agent project; `bundle` adds dist/sdk-snapshot.js (and its .sha256). */
async function agentProject(options: {manifest?: object; bundle?: boolean}): Promise<string> {
  const dir = await makeProject(work)
  if (options.manifest) writeFileSync(join(dir, 'agentos-package.json'), JSON.stringify(options.manifest))
  if (options.bundle) {
    mkdirSync(join(dir, 'dist'))
    writeFileSync(join(dir, 'dist/sdk-snapshot.js'), BUNDLE)
    const sum = createHash('sha256').update(BUNDLE).digest('hex')
    writeFileSync(join(dir, 'dist/sdk-snapshot.js.sha256'), `${sum}\n`)
  }
  return dir
}

const agentManifest = {name: 'my-agent', agent: {acpEntrypoint: 'my-tool', snapshot: true}}

describe('pack: the agent SDK snapshot bundle', () => {
  it('copies dist/sdk-snapshot.js and its .sha256 from the agent package to the package root', async () => {
    const dir = await agentProject({manifest: agentManifest, bundle: true})
    const result = await pack({source: dir, cwd: work, out: join(work, 'out')})
    const out = join(work, 'out')
    expect(readFileSync(join(out, 'dist/sdk-snapshot.js'), 'utf8')).toBe(BUNDLE)
    expect(readFileSync(join(out, 'dist/sdk-snapshot.js.sha256'), 'utf8')).toBe(
      readFileSync(join(dir, 'dist/sdk-snapshot.js.sha256'), 'utf8'),
    )
    expect(result.snapshotBundle).toEqual({
      path: 'dist/sdk-snapshot.js',
      from: 'node_modules/my-tool/dist/sdk-snapshot.js',
      bytes: BUNDLE.length,
      sha256File: 'dist/sdk-snapshot.js.sha256',
    })
    expect(result.warnings.map((w) => w.code)).not.toContain(MISSING)
    const report = await validatePackage(out)
    expect(report.problems.map((p) => p.code)).not.toContain(MISSING)
    expect((await inspectPackage(out)).snapshotBundle).toEqual({
      path: 'dist/sdk-snapshot.js',
      bytes: BUNDLE.length,
    })
  })

  it('records the bundle in an .aospkg (snapshotBundlePath), and inspect finds it there', async () => {
    const dir = await agentProject({manifest: agentManifest, bundle: true})
    const result = await pack({source: dir, cwd: work, out: join(work, 'out'), format: 'aospkg'})
    const info = await inspectPackage(result.out)
    expect(info.snapshotBundle).toEqual({path: 'dist/sdk-snapshot.js', bytes: BUNDLE.length})
    expect(info.validation.problems.map((p) => p.code)).not.toContain(MISSING)
  })

  it('warns, in pack and validate alike, when snapshot is true and no bundle exists', async () => {
    const dir = await agentProject({manifest: agentManifest})
    const result = await pack({source: dir, cwd: work, out: join(work, 'out')})
    expect(result.snapshotBundle).toBeUndefined()
    expect(existsSync(join(work, 'out/dist'))).toBe(false)
    expect(result.warnings.filter((w) => w.code === MISSING)).toHaveLength(1)
    const report = await validatePackage(join(work, 'out'))
    expect(report.problems.filter((p) => p.code === MISSING)).toMatchObject([
      {severity: 'warning', path: 'agentos-package.json#agent.snapshot'},
    ])
    expect(report.ok).toBe(true)
  })

  it('places no bundle for snapshot: false, even when the package ships one', async () => {
    const dir = await agentProject({
      manifest: {...agentManifest, agent: {acpEntrypoint: 'my-tool', snapshot: false}},
      bundle: true,
    })
    const result = await pack({source: dir, cwd: work, out: join(work, 'out')})
    expect(result.snapshotBundle).toBeUndefined()
    expect(existsSync(join(work, 'out/dist'))).toBe(false)
  })

  it('--agent without an agent block: snapshot true exactly when the package ships the bundle', async () => {
    const withBundle = await pack({source: await agentProject({bundle: true}), cwd: work, agent: 'my-tool'})
    const manifest = JSON.parse(readFileSync(join(withBundle.out, 'agentos-package.json'), 'utf8'))
    expect(manifest.agent).toEqual({acpEntrypoint: 'my-tool', snapshot: true})
    expect(withBundle.snapshotBundle?.path).toBe('dist/sdk-snapshot.js')

    rmSync(work, {recursive: true, force: true})
    mkdirSync(work)
    const without = await pack({source: await agentProject({}), cwd: work, agent: 'my-tool'})
    const plain = JSON.parse(readFileSync(join(without.out, 'agentos-package.json'), 'utf8'))
    expect(plain.agent).toEqual({acpEntrypoint: 'my-tool', snapshot: false})
    expect(without.warnings.map((w) => w.code)).not.toContain(MISSING)
  })
})
