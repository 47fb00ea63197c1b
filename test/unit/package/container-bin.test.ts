import {cp, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create as createTar} from 'tar'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeAospkg} from '../../../src/output/write-aospkg.js'
import {readPackage} from '../../../src/package/read.js'
import {ROOT, runInProcess} from '../../helpers/cli.js'
import {watFileToWasm} from '../../helpers/wasm.js'

// Command level, in-process against the built CLI (npm run build first).
const MY_TOOL = join(ROOT, 'fixtures/examples/my-tool-package')
const MY_AGENT = join(ROOT, 'fixtures/examples/my-agent-package')

let work: string
let toolArchive: string
let agentArchive: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-aospkg-cli-'))
  toolArchive = join(work, 'my-tool.aospkg')
  agentArchive = join(work, 'my-agent.aospkg')
  await writeAospkg(MY_TOOL, toolArchive)
  await writeAospkg(MY_AGENT, agentArchive)
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('inspect and validate an .aospkg', () => {
  it('inspect x.aospkg --json describes the archive like its directory', async () => {
    const result = await runInProcess(['inspect', agentArchive, '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    const dir = JSON.parse((await runInProcess(['inspect', MY_AGENT, '--json'])).stdout)
    expect(report.source).toEqual({type: 'aospkg', path: agentArchive, formatVersion: 1})
    expect(report).toMatchObject({
      name: 'my-agent',
      version: '0.3.0',
      npmName: '@example/my-agent',
      digest: dir.digest,
      agent: dir.agent,
      provides: dir.provides,
      commands: dir.commands,
      closure: dir.closure,
      validation: {ok: true},
    })
  })

  it('inspect shows the archive as the source in human output', async () => {
    const result = await runInProcess(['inspect', toolArchive])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('my-tool@1.0.0')
    expect(result.stdout).toContain(`source:  aospkg ${toolArchive}`)
  })

  it('validate x.aospkg passes a good archive and names the code of a broken one', async () => {
    const good = await runInProcess(['validate', toolArchive])
    expect(good.exitCode).toBe(0)
    expect(good.stdout).toContain('✔ valid')
    const broken = join(work, 'broken.aospkg')
    const bytes = await readFile(toolArchive)
    bytes.writeUInt16LE(1, 6)
    await writeFile(broken, bytes)
    const bad = await runInProcess(['validate', broken])
    expect(bad.exitCode).toBe(1)
    expect(bad.stderr).toContain('error ERR_AGENTOS_AOSPKG_FLAGS')
    expect(bad.stderr).toContain('hint:')
    const json = await runInProcess(['validate', broken, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ok: false, error: {code: 'ERR_AGENTOS_AOSPKG_FLAGS'}})
  })

  it('inspect and validate an npm-style .tgz holding package/dist/package.aospkg', async () => {
    const root = join(work, 'npm-style')
    await mkdir(join(root, 'package/dist'), {recursive: true})
    await writeFile(
      join(root, 'package/package.json'),
      JSON.stringify({name: '@agentos-software/my-tool', version: '1.0.0', main: 'dist/index.js'}),
    )
    await writeFile(join(root, 'package/LICENSE'), 'Apache-2.0\n')
    await writeFile(join(root, 'package/dist/index.js'), 'export default {}\n')
    await writeFile(join(root, 'package/dist/index.d.ts'), 'export {}\n')
    await cp(toolArchive, join(root, 'package/dist/package.aospkg'))
    const tgz = join(work, 'agentos-software-my-tool-1.0.0.tgz')
    await createTar({gzip: true, file: tgz, cwd: root, portable: true}, ['package'])

    const inspect = await runInProcess(['inspect', tgz, '--json'])
    expect(inspect.exitCode).toBe(0)
    const report = JSON.parse(inspect.stdout)
    expect(report.source).toEqual({
      type: 'aospkg',
      path: tgz,
      member: 'package/dist/package.aospkg',
      formatVersion: 1,
    })
    // The archive's own package.json names it; the wrapper's name is used only when it has none.
    expect(report).toMatchObject({
      name: 'my-tool',
      version: '1.0.0',
      npmName: 'my-tool',
      digest: (await readPackage(MY_TOOL, {digest: true})).digest,
    })
    expect(report.commands.map((c: {name: string}) => c.name)).toEqual(['my-tool'])
    const validate = await runInProcess(['validate', tgz])
    expect(validate.exitCode).toBe(0)
  })
})

describe('pack --format', () => {
  async function project(): Promise<string> {
    const dir = await mkdtemp(join(work, 'project-'))
    await cp(join(MY_TOOL, 'node_modules/my-tool'), join(dir, 'my-tool'), {recursive: true})
    await cp(join(MY_TOOL, 'node_modules/ms'), join(dir, 'my-tool/node_modules/ms'), {recursive: true})
    return dir
  }

  it('--format aospkg writes <out>.aospkg and no directory', async () => {
    const dir = await project()
    const out = join(dir, 'out/my-tool')
    const result = await runInProcess([
      'pack',
      join(dir, 'my-tool'),
      '--out',
      out,
      '--format',
      'aospkg',
      '--json',
    ])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({format: 'aospkg', out: `${out}.aospkg`, aospkg: {path: `${out}.aospkg`}})
    await expect(stat(out)).rejects.toMatchObject({code: 'ENOENT'})
    const inspect = JSON.parse((await runInProcess(['inspect', `${out}.aospkg`, '--json'])).stdout)
    expect(inspect.digest).toBe(report.digest)
    expect(inspect.validation.ok).toBe(true)
  })

  it('--format both writes the directory and the archive next to it, with one digest', async () => {
    const dir = await project()
    const out = join(dir, 'pkg')
    const result = await runInProcess([
      'pack',
      join(dir, 'my-tool'),
      '--out',
      out,
      '--format',
      'both',
      '--json',
    ])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({format: 'both', out, aospkg: {path: `${out}.aospkg`}})
    const fromDir = await readPackage(out, {digest: true})
    const fromArchive = await readPackage(`${out}.aospkg`, {digest: true})
    expect(fromDir.digest).toBe(report.digest)
    expect(fromArchive.digest).toBe(report.digest)
    // Deterministic: packing again gives the same archive bytes.
    const again = JSON.parse(
      (await runInProcess(['pack', join(dir, 'my-tool'), '--out', out, '--format', 'both', '--json'])).stdout,
    )
    expect(again.aospkg.sha256).toBe(report.aospkg.sha256)
  })

  it('refuses to replace a file that is not an archive, and an unknown format', async () => {
    const dir = await project()
    await writeFile(join(dir, 'pkg.aospkg'), 'precious')
    const refused = await runInProcess([
      'pack',
      join(dir, 'my-tool'),
      '--out',
      join(dir, 'pkg'),
      '--format',
      'aospkg',
    ])
    expect(refused.exitCode).toBe(1)
    expect(refused.stderr).toContain('ERR_AGENTOS_AOSPKG_OUT_EXISTS')
    expect(await readFile(join(dir, 'pkg.aospkg'), 'utf8')).toBe('precious')
    const usage = await runInProcess(['pack', join(dir, 'my-tool'), '--format', 'zip'])
    expect(usage.exitCode).toBe(2)
  })
})

describe('assemble-wasm --format aospkg', () => {
  it('writes dist/package.aospkg (the npm layout) that inspects as the WASM package', async () => {
    const dir = await mkdtemp(join(work, 'cmds-'))
    await cp(join(ROOT, 'fixtures/examples/my-cmds'), dir, {recursive: true})
    await mkdir(join(dir, 'build'))
    for (const name of ['tool-a', 'tool-b']) {
      await writeFile(
        join(dir, 'build', `${name}.wasm`),
        await watFileToWasm(join(dir, 'wat', `${name}.wat`)),
      )
    }
    const result = await runInProcess([
      'assemble-wasm',
      join(dir, 'build'),
      '--project',
      dir,
      '--format',
      'aospkg',
      '--json',
    ])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({
      ok: true,
      written: true,
      format: 'aospkg',
      out: join(dir, 'dist/package.aospkg'),
    })
    await expect(stat(join(dir, 'dist/package'))).rejects.toMatchObject({code: 'ENOENT'})
    const inspect = JSON.parse(
      (await runInProcess(['inspect', join(dir, 'dist/package.aospkg'), '--json'])).stdout,
    )
    expect(inspect).toMatchObject({
      name: 'my-cmds',
      version: '1.0.0',
      digest: report.digest,
      validation: {ok: true},
    })
    expect(inspect.commands.map((c: {name: string; kind: string}) => [c.name, c.kind])).toEqual([
      ['tool-a', 'wasm'],
      ['tool-b', 'wasm'],
    ])
  })
})
