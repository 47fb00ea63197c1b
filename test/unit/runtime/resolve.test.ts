import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  cachedRuntimes,
  compareVersions,
  findRuntime,
  resolveRuntime,
  runtimeCacheDir,
} from '../../../src/runtime/resolve.js'
import {PINNED_RUNTIME_VERSION, RUNTIME_PACKAGE} from '../../../src/runtime/version.js'

// A runtime is proven by its package.json (name @rivet-dev/agentos-core and a version): these
// fake directories hold nothing else. Whether it loads is the driver's business.
let work: string
let project: string
let cache: string
const env = () => ({AGENTOS_TOOLCHAIN_CACHE: cache}) as NodeJS.ProcessEnv

async function fakeRuntime(prefix: string, version: string, nested = ''): Promise<string> {
  const dir = join(prefix, nested, 'node_modules', RUNTIME_PACKAGE)
  await mkdir(join(dir, 'dist'), {recursive: true})
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: RUNTIME_PACKAGE,
      version,
      type: 'module',
      exports: {'.': {types: './dist/index.d.ts', import: './dist/index.js'}},
    }),
  )
  return dir
}

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-runtime-resolve-'))
  project = join(work, 'project')
  cache = join(work, 'cache')
  await mkdir(join(project, 'src'), {recursive: true})
})
afterEach(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('runtime resolution order', () => {
  it('finds nothing in an empty world, and says where it looked', async () => {
    const search = await findRuntime({cwd: project, env: env()})
    expect(search.found).toBeUndefined()
    expect(search.looked).toEqual([
      '--runtime (not given)',
      'AGENTOS_TOOLCHAIN_RUNTIME (unset)',
      `node_modules of ${project} and its parents`,
      `the cache ${join(cache, 'runtime')}`,
    ])
    await expect(resolveRuntime({cwd: project, env: env()})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_RUNTIME_NOT_FOUND',
      exitCode: 1,
      hint: expect.stringContaining('agentos-toolchain runtime install'),
    })
  })

  it('takes the cache: the pinned version over a newer one, else the newest', async () => {
    await fakeRuntime(join(cache, 'runtime', '0.1.0'), '0.1.0')
    await fakeRuntime(join(cache, 'runtime', '9.9.9'), '9.9.9')
    let found = await resolveRuntime({cwd: project, env: env()})
    expect(found).toMatchObject({source: 'cache', version: '9.9.9'})
    expect(found.reason).toContain('newest installed')
    await fakeRuntime(join(cache, 'runtime', PINNED_RUNTIME_VERSION), PINNED_RUNTIME_VERSION)
    found = await resolveRuntime({cwd: project, env: env()})
    expect(found).toMatchObject({source: 'cache', version: PINNED_RUNTIME_VERSION})
    expect(found.entry).toBe(
      join(cache, 'runtime', PINNED_RUNTIME_VERSION, 'node_modules', RUNTIME_PACKAGE, 'dist/index.js'),
    )
    // An install in progress (a dot-named temp sibling) is never taken.
    await fakeRuntime(join(cache, 'runtime', '.install-1-abcd'), '10.0.0')
    expect((await cachedRuntimes(env())).map((r) => r.version)).toEqual([
      '9.9.9',
      PINNED_RUNTIME_VERSION,
      '0.1.0',
    ])
  })

  it("prefers the project's runtime (found from a subdirectory) over the cache", async () => {
    await fakeRuntime(join(cache, 'runtime', PINNED_RUNTIME_VERSION), PINNED_RUNTIME_VERSION)
    await fakeRuntime(project, '0.2.19')
    const found = await resolveRuntime({cwd: join(project, 'src'), env: env()})
    expect(found).toMatchObject({source: 'project', version: '0.2.19'})
    expect(found.packageDir).toBe(join(project, 'node_modules', RUNTIME_PACKAGE))
  })

  it('finds the runtime nested under @rivet-dev/agentos in a project', async () => {
    await fakeRuntime(project, '0.2.20', 'node_modules/@rivet-dev/agentos')
    expect(await resolveRuntime({cwd: project, env: env()})).toMatchObject({
      source: 'project',
      version: '0.2.20',
    })
  })

  it('prefers AGENTOS_TOOLCHAIN_RUNTIME over the project, and --runtime over both', async () => {
    await fakeRuntime(project, '0.2.19')
    const fromEnv = join(work, 'env-prefix')
    await fakeRuntime(fromEnv, '0.2.18')
    const fromFlag = join(work, 'flag-prefix')
    const flagPackage = await fakeRuntime(fromFlag, '0.2.17')
    const withVar = {...env(), AGENTOS_TOOLCHAIN_RUNTIME: fromEnv}
    expect(await resolveRuntime({cwd: project, env: withVar})).toMatchObject({
      source: 'env',
      version: '0.2.18',
      reason: `AGENTOS_TOOLCHAIN_RUNTIME=${fromEnv}`,
    })
    expect(await resolveRuntime({cwd: project, env: withVar, runtime: fromFlag})).toMatchObject({
      source: 'flag',
      version: '0.2.17',
    })
    // The package directory itself is accepted too, and a relative path is the cwd's.
    expect(await resolveRuntime({cwd: work, env: env(), runtime: flagPackage})).toMatchObject({
      version: '0.2.17',
    })
    expect(await resolveRuntime({cwd: work, env: env(), runtime: 'flag-prefix'})).toMatchObject({
      version: '0.2.17',
    })
  })

  it('refuses an explicit location that holds no runtime instead of looking further', async () => {
    await fakeRuntime(project, '0.2.19')
    const empty = join(work, 'empty')
    await mkdir(empty)
    await expect(resolveRuntime({cwd: project, env: env(), runtime: empty})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_RUNTIME_INVALID',
      message: expect.stringContaining(`--runtime ${empty}`),
    })
    await expect(
      resolveRuntime({cwd: project, env: {...env(), AGENTOS_TOOLCHAIN_RUNTIME: empty}}),
    ).rejects.toMatchObject({code: 'ERR_AGENTOS_RUNTIME_INVALID'})
    // A package.json of another package proves nothing.
    await writeFile(join(empty, 'package.json'), JSON.stringify({name: 'other', version: '1.0.0'}))
    await expect(resolveRuntime({cwd: project, env: env(), runtime: empty})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_RUNTIME_INVALID',
    })
  })

  it('puts the cache where the .aospkg cache is', () => {
    expect(runtimeCacheDir({AGENTOS_TOOLCHAIN_CACHE: '/c'})).toBe('/c/runtime')
    expect(runtimeCacheDir({XDG_CACHE_HOME: '/x'})).toBe('/x/agentos-toolchain/runtime')
  })

  it('orders versions as semver does', () => {
    expect(compareVersions('0.2.21', '0.2.3')).toBeGreaterThan(0)
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0)
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0)
  })
})
