import {existsSync, readdirSync} from 'node:fs'
import {cp, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isAgentosError} from '../../../../src/errors.js'
import {loadRunPackage} from '../../../../src/run/vm/mount.js'
import {assembleRoot} from '../../../../src/run/emulation/root.js'
import {buildVm} from '../../../../src/run/vm/vm.js'
import {validatePackage} from '../../../../src/package/validate.js'
import {prepareFixture, REPO_ROOT} from '../../../helpers/fixtures.js'
import {runFixture} from '../../../helpers/run-fixtures.js'

// `run` and `validate` read agentos-package.json with the same rules (format/manifest.ts):
// what validate refuses in a manifest, run refuses before setting anything up, with validate's code
// and run's exit code for a VM that could not be set up.

let work: string
let count = 0
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-manifest-'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** The sh-tool fixture with `etc/x.conf` and the given manifest text (undefined: none). */
async function shTool(manifest: string | undefined, packageJson?: object): Promise<string> {
  const dir = join(work, `pkg-${++count}`)
  await cp(runFixture('sh-tool'), dir, {recursive: true})
  await mkdir(join(dir, 'etc'))
  await writeFile(join(dir, 'etc/x.conf'), 'x = 1\n')
  await mkdir(join(dir, '.hidden'))
  await writeFile(join(dir, '.hidden/y.conf'), 'y = 1\n')
  if (manifest === undefined) await rm(join(dir, 'agentos-package.json'))
  else await writeFile(join(dir, 'agentos-package.json'), manifest)
  if (packageJson) await writeFile(join(dir, 'package.json'), JSON.stringify(packageJson))
  return dir
}

const providing = (...targets: string[]) => manifestOf('sh-tool', ...targets)
const manifestOf = (name: string, ...targets: string[]) =>
  JSON.stringify({
    name,
    version: '1.0.0',
    provides: {files: targets.map((target) => ({source: 'etc/x.conf', target}))},
  })

async function refusal(dir: string) {
  const error = await loadRunPackage(dir).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isAgentosError(error), 'loadRunPackage should refuse the package').toBe(true)
  return error as import('../../../../src/errors.js').AgentosError
}

/** The error codes validate reports for the package. */
async function validateErrors(dir: string): Promise<string[]> {
  const report = await validatePackage(dir)
  return report.problems.filter((p) => p.severity === 'error').map((p) => p.code)
}

describe('run refuses what validate refuses in a manifest, with the same code', () => {
  it.each([
    ['/opt', 'would cover /opt/agentos'],
    ['/sys/x', 'is under /sys'],
    ['/proc/self', 'is under /proc'],
    ['/dev/null', 'is under /dev'],
    ['/opt/agentos/bin/ls', 'is under /opt/agentos'],
    ['/', 'would cover /proc'],
    ['/tmp', "would cover /tmp, the VM's temporary directory"],
    ['/home/agentos', "would cover /home/agentos, the guest's home"],
    ['/home', 'would cover /home/agentos'],
  ])('a provides.files target of %s', async (target, reason) => {
    const dir = await shTool(providing(target))
    expect(await validateErrors(dir)).toEqual(['ERR_AGENTOS_PROVIDES_TARGET_RESERVED'])
    const error = await refusal(dir)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED', exitCode: 125})
    expect(error.message).toContain(`provides target ${target} ${reason}`)
    expect(error.hint).toMatch(/^Overlay .*`agentos-toolchain validate .*` reports every problem\.$/)
    expect(error.path).toBe(join(dir, 'agentos-package.json'))
  })

  it.each([
    ['[]', 'got an array'],
    ['null', 'got null'],
    ['"sh-tool"', 'got a string'],
    ['42', 'got a number'],
  ])('a manifest that is %s', async (text, got) => {
    const dir = await shTool(text)
    expect(await validateErrors(dir)).toEqual(['ERR_AGENTOS_MANIFEST_NOT_OBJECT'])
    const error = await refusal(dir)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', exitCode: 125})
    expect(error.message).toContain(`agentos-package.json must be an object, ${got}`)
    expect(error.hint).toContain('Write the manifest as a JSON object')
  })

  it('a manifest without a name, even when package.json has one', async () => {
    const dir = await shTool('{"version": "1.0.0"}')
    expect(await validateErrors(dir)).toEqual(['ERR_AGENTOS_MANIFEST_NAME_INVALID'])
    expect(await refusal(dir)).toMatchObject({code: 'ERR_AGENTOS_MANIFEST_NAME_INVALID', exitCode: 125})
  })

  it('a manifest nested deeper than the runtime reads, which JSON.parse takes', async () => {
    const deep = `${'['.repeat(128)}${']'.repeat(128)}`
    const dir = await shTool(`{"name": "sh-tool", "x": ${deep}}`)
    expect(await validateErrors(dir)).toEqual(['ERR_AGENTOS_JSON_TOO_DEEP'])
    expect(await refusal(dir)).toMatchObject({code: 'ERR_AGENTOS_JSON_TOO_DEEP', exitCode: 125})
  })

  it('reports the first error and keeps every one in details', async () => {
    const dir = await shTool(
      JSON.stringify({
        name: 'sh-tool',
        agent: {acpEntrypoint: 'greet', snapshot: 'yes'},
        provides: {files: 'x'},
      }),
    )
    const error = await refusal(dir)
    expect(error.code).toBe('ERR_AGENTOS_AGENT_SNAPSHOT_TYPE')
    expect(error.message).toContain('(and 1 more)')
    expect((error.details as {problems: Array<{code: string}>}).problems.map((p) => p.code)).toEqual([
      'ERR_AGENTOS_AGENT_SNAPSHOT_TYPE',
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
    ])
  })

  // Every manifest case of validate's corpus but the missing manifest, which run tolerates (the
  // package mounts under its npm name, as pack would write it).
  const corpus = join(REPO_ROOT, 'fixtures', 'validate')
  const cases = readdirSync(corpus)
    .filter((name) => /^(manifest|agent)-/.test(name) && name !== 'manifest-missing')
    .filter((name) => existsSync(join(corpus, name, 'expected.json')))
    .sort()

  it.each(cases)('validate fixture %s', async (name) => {
    const fixture = await prepareFixture(join(corpus, name))
    try {
      const loaded = loadRunPackage(fixture.dir)
      if (fixture.expected.ok) {
        await expect(loaded).resolves.toBeDefined()
      } else {
        const error = await loaded.catch((e: unknown) => e)
        expect(error).toMatchObject({exitCode: 125})
        expect(fixture.expected.codes).toContain((error as {code: string}).code)
      }
    } finally {
      await fixture.cleanup()
    }
  })
})

describe('run mounts what validate accepts', () => {
  it('overlays files inside /tmp and /home/agentos, with sources normalized as validate reads them', async () => {
    const dir = await shTool(
      JSON.stringify({
        name: 'sh-tool',
        version: '1.0.0',
        provides: {
          files: [
            {source: './etc/x.conf', target: '/tmp/x.conf'},
            {source: '.hidden/y.conf', target: '/home/agentos/.config/y.conf'},
            {source: '.', target: '/usr/share/sh-tool'},
          ],
        },
      }),
    )
    expect(await validateErrors(dir)).toEqual([])
    const pkg = await loadRunPackage(dir)
    expect(pkg.provides.files).toEqual([
      {source: 'etc/x.conf', target: '/tmp/x.conf'},
      {source: '.hidden/y.conf', target: '/home/agentos/.config/y.conf'},
      {source: '', target: '/usr/share/sh-tool'},
    ])
    const root = await assembleRoot(buildVm([pkg]), {layout: 'mountpoints'})
    try {
      expect(await readFile(root.hostPath('/home/agentos/.config/y.conf'), 'utf8')).toBe('y = 1\n')
      expect(await readFile(root.hostPath('/tmp/x.conf'), 'utf8')).toBe('x = 1\n')
    } finally {
      await root.remove()
    }
  })

  it('refuses a package without a manifest, or whose manifest has no version, as runtime 0.2.21 does', async () => {
    // It mounted the package under its unscoped npm name before; the runtime refuses it
    // (test/conformance: manifest-missing, manifest-no-version).
    const plain = await shTool(undefined, {
      name: '@scope/sh-tool',
      version: '2.0.0',
      bin: {greet: 'bin/greet'},
    })
    expect(await refusal(plain)).toMatchObject({
      code: 'ERR_AGENTOS_MANIFEST_MISSING',
      exitCode: 125,
      path: join(plain, 'agentos-package.json'),
    })
    const versionless = await shTool('{"name": "sh-tool"}', {
      name: 'sh-tool',
      version: '2.0.0',
      bin: {greet: 'bin/greet'},
    })
    expect(await refusal(versionless)).toMatchObject({
      code: 'ERR_AGENTOS_MANIFEST_VERSION_MISSING',
      exitCode: 125,
    })
    const nameless = await shTool(undefined, {bin: {greet: 'bin/greet'}})
    expect(await refusal(nameless)).toMatchObject({code: 'ERR_AGENTOS_MANIFEST_MISSING', exitCode: 125})
  })
})

describe('overlays that collide across packages', () => {
  it('are a coded error, not a failed copy', async () => {
    // Each manifest is valid alone; together one package's file lies where the other needs a
    // directory.
    const outer = await shTool(providing('/etc/sh-tool'))
    const inner = await shTool(manifestOf('inner', '/etc/sh-tool/x.conf'), {name: 'inner', bin: {}})
    const vm = buildVm([await loadRunPackage(outer), await loadRunPackage(inner)])
    const error = await assembleRoot(vm, {layout: 'mountpoints'}).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_RUN_OVERLAY_FAILED', exitCode: 125})
    expect((error as Error).message).toContain(
      'cannot overlay etc/x.conf of package inner at /etc/sh-tool/x.conf',
    )
  })
})
