import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {pack} from '../../../src/pack/pack.js'
import {ROOT} from '../../helpers/cli.js'

// Packing local projects whose node_modules is installed: no registry, no network.
const installed = join(ROOT, 'fixtures/examples/my-tool-package/node_modules')
let work: string

/** The Node.js quick start's my-tool/ project with its one dependency installed. */
function project(): string {
  const dir = join(work, 'my-tool')
  cpSync(join(installed, 'my-tool'), dir, {recursive: true})
  cpSync(join(installed, 'ms'), join(dir, 'node_modules/ms'), {recursive: true})
  return dir
}

const editJson = (file: string, edit: (value: Record<string, unknown>) => void) => {
  const value = JSON.parse(readFileSync(file, 'utf8'))
  edit(value)
  writeFileSync(file, JSON.stringify(value))
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-local-'))
})
afterEach(() => rmSync(work, {recursive: true, force: true}))

describe('pack of an installed local project', () => {
  it('writes ./<name>-package with the bin rewritten into node_modules (the Node.js quick start)', async () => {
    const dir = project()
    const result = await pack({source: './my-tool', cwd: work})
    expect(result.out).toBe(join(work, 'my-tool-package'))
    expect(JSON.parse(readFileSync(join(work, 'my-tool-package/package.json'), 'utf8'))).toEqual({
      name: 'my-tool',
      version: '1.0.0',
      bin: {'my-tool': 'node_modules/my-tool/cli.js'},
    })
    expect(result.source).toEqual({kind: 'directory', spec: './my-tool', installed: false})
    expect(existsSync(join(dir, 'node_modules/ms/index.js'))).toBe(true)
  })

  it('refuses a project without package.json, without bin, or with a missing bin target', async () => {
    const dir = project()
    rmSync(join(dir, 'package.json'))
    await expect(pack({source: dir, cwd: work})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_NO_PACKAGE_JSON',
    })
    const second = join(work, 'second')
    cpSync(join(installed, 'my-tool'), second, {recursive: true})
    cpSync(join(installed, 'ms'), join(second, 'node_modules/ms'), {recursive: true})
    editJson(join(second, 'package.json'), (pkg) => delete pkg.bin)
    await expect(pack({source: second, cwd: work})).rejects.toMatchObject({code: 'ERR_AGENTOS_PACK_NO_BIN'})
    editJson(join(second, 'package.json'), (pkg) => (pkg.bin = {'my-tool': 'missing.js'}))
    await expect(pack({source: second, cwd: work})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_BIN_NOT_FOUND',
    })
    expect(existsSync(join(work, 'my-tool-package'))).toBe(false)
  })

  it('refuses a symlink cycle and a link out of a dependency, writing nothing', async () => {
    const dir = project()
    mkdirSync(join(dir, 'node_modules/ms/sub'))
    symlinkSync('..', join(dir, 'node_modules/ms/sub/loop'))
    await expect(pack({source: dir, cwd: work})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_SYMLINK_LOOP',
    })
    rmSync(join(dir, 'node_modules/ms/sub'), {recursive: true})
    symlinkSync('/etc/hostname', join(dir, 'node_modules/ms/host'))
    await expect(pack({source: dir, cwd: work})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_SYMLINK_OUTSIDE',
    })
    rmSync(join(dir, 'node_modules/ms/host'))
    symlinkSync('index.js', join(dir, 'node_modules/ms/alias.js'))
    const result = await pack({source: dir, cwd: work})
    // A link inside the package becomes the real file.
    expect(readFileSync(join(result.out, 'node_modules/ms/alias.js'), 'utf8')).toBe(
      readFileSync(join(dir, 'node_modules/ms/index.js'), 'utf8'),
    )
  })

  it('writes --agent, and refuses to replace a declared entrypoint unless --force', async () => {
    const dir = project()
    const withAgent = await pack({source: dir, cwd: work, agent: 'my-tool'})
    expect(JSON.parse(readFileSync(join(withAgent.out, 'agentos-package.json'), 'utf8')).agent).toEqual({
      acpEntrypoint: 'my-tool',
      snapshot: false,
    })
    editJson(join(dir, 'package.json'), (pkg) => (pkg.bin = {'my-tool': 'cli.js', other: 'cli.js'}))
    writeFileSync(
      join(dir, 'agentos-package.json'),
      JSON.stringify({name: 'my-tool', agent: {acpEntrypoint: 'my-tool'}}),
    )
    await expect(pack({source: dir, cwd: work, agent: 'other'})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_AGENT_CONFLICT',
    })
    const forced = await pack({source: dir, cwd: work, agent: 'other', force: true})
    expect(
      JSON.parse(readFileSync(join(forced.out, 'agentos-package.json'), 'utf8')).agent.acpEntrypoint,
    ).toBe('other')
  })

  it('gives the same digest for the same project packed twice', async () => {
    const dir = project()
    const a = await pack({source: dir, cwd: work, out: join(work, 'a')})
    const b = await pack({source: dir, cwd: work, out: join(work, 'b')})
    expect(b.digest).toBe(a.digest)
  })
})

describe('pack: outputs inside the project', () => {
  it('`pack . --out dist/package --tar dist/package.tgz`, three times: one digest, no nested copy', async () => {
    const dir = project()
    const results = []
    for (let i = 0; i < 3; i++) {
      results.push(
        await pack({source: '.', cwd: dir, out: 'dist/package', tar: 'dist/package.tgz', force: true}),
      )
    }
    expect(new Set(results.map((r) => r.digest)).size).toBe(1)
    expect(new Set(results.map((r) => r.files)).size).toBe(1)
    expect(existsSync(join(dir, 'dist/package/node_modules/my-tool/dist'))).toBe(false)
  })

  it('leaves out an .aospkg output inside the project too', async () => {
    const dir = project()
    const first = await pack({source: '.', cwd: dir, out: 'dist/package', format: 'both'})
    const second = await pack({source: '.', cwd: dir, out: 'dist/package', format: 'both', force: true})
    expect(second.digest).toBe(first.digest)
    expect(existsSync(join(dir, 'dist/package/node_modules/my-tool/dist'))).toBe(false)
  })
})

describe('pack: a package that ships its own agentOS archive', () => {
  it('leaves dist/package.aospkg out and reports it; --keep-aospkg keeps it', async () => {
    const dir = project()
    mkdirSync(join(dir, 'dist'))
    writeFileSync(join(dir, 'dist/package.aospkg'), Buffer.alloc(4096, 1))
    writeFileSync(join(dir, 'dist/other.js'), 'export {}\n')
    const result = await pack({source: dir, cwd: work, out: join(work, 'out')})
    expect(result.closure.leftOutFiles).toEqual([
      {path: 'node_modules/my-tool/dist/package.aospkg', bytes: 4096, reason: 'own-aospkg'},
    ])
    expect(existsSync(join(work, 'out/node_modules/my-tool/dist/package.aospkg'))).toBe(false)
    expect(existsSync(join(work, 'out/node_modules/my-tool/dist/other.js'))).toBe(true)

    const kept = await pack({source: dir, cwd: work, out: join(work, 'kept'), keepOwnAospkg: true})
    expect(kept.closure.leftOutFiles).toEqual([])
    expect(existsSync(join(work, 'kept/node_modules/my-tool/dist/package.aospkg'))).toBe(true)
    expect(kept.files).toBe(result.files + 1)
  })
})

describe('pack: the versioned store', () => {
  it('refuses to file @b/biome among the versions of @a/biome (both are "biome")', async () => {
    const scoped = (scope: string) => {
      const dir = join(work, scope)
      cpSync(join(installed, 'my-tool'), dir, {recursive: true})
      cpSync(join(installed, 'ms'), join(dir, 'node_modules/ms'), {recursive: true})
      editJson(join(dir, 'package.json'), (pkg) => {
        pkg.name = `@${scope}/biome`
      })
      return dir
    }
    const store = join(work, 'packages')
    const first = await pack({source: scoped('a'), cwd: work, out: store, layout: 'versioned'})
    expect(first.out).toBe(join(store, 'biome/1.0.0'))
    await expect(
      pack({source: scoped('b'), cwd: work, out: store, layout: 'versioned'}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_STORE_NAME_TAKEN',
      path: join(store, 'biome/1.0.0/package.json'),
    })
    // The same package again is fine: a new version, or the same one replaced.
    await expect(
      pack({source: join(work, 'a'), cwd: work, out: store, layout: 'versioned'}),
    ).resolves.toMatchObject({
      out: join(store, 'biome/1.0.0'),
    })
  })
})

describe('pack --prune-native: platform binaries', () => {
  it('warns that pruning @esbuild/<platform> breaks the commands that load esbuild, and names esbuild-wasm', async () => {
    const dir = project()
    for (const name of ['esbuild', `@esbuild/${process.platform}-${process.arch}`]) {
      cpSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), {recursive: true})
    }
    const esbuildVersion = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/esbuild/package.json'), 'utf8'),
    ).version
    editJson(join(dir, 'package.json'), (pkg) => {
      pkg.dependencies = {...(pkg.dependencies as object), esbuild: esbuildVersion}
    })
    await expect(pack({source: dir, cwd: work, out: join(work, 'refused')})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_NATIVE',
    })
    const result = await pack({source: dir, cwd: work, out: join(work, 'out'), pruneNative: true})
    const platform = result.warnings.filter((w) => w.code === 'WARN_AGENTOS_PACK_PLATFORM_BINARY_PRUNED')
    expect(platform).toHaveLength(1)
    expect(platform[0]!.message).toMatch(
      new RegExp(
        `^pruned @esbuild/${process.platform}-${process.arch}, the platform binary esbuild runs .*: my-tool will fail`,
      ),
    )
    expect(platform[0]!.hint).toContain('esbuild-wasm')
  })
})

describe('pack --tar: what it may replace', () => {
  it('refuses a directory before anything is written', async () => {
    const dir = project()
    mkdirSync(join(work, 'a-dir'))
    await expect(
      pack({source: dir, cwd: work, out: join(work, 'out'), tar: join(work, 'a-dir')}),
    ).rejects.toMatchObject({code: 'ERR_AGENTOS_TAR_OUT_IS_DIR'})
    expect(existsSync(join(work, 'out'))).toBe(false)
  })

  it('replaces an earlier package tarball, refuses another file unless --force, and never a source file', async () => {
    const dir = project()
    const tgz = join(work, 'p.tgz')
    await pack({source: dir, cwd: work, out: join(work, 'out'), tar: tgz})
    await pack({source: dir, cwd: work, out: join(work, 'out'), tar: tgz})

    const notes = join(work, 'notes.txt')
    writeFileSync(notes, 'mine')
    await expect(pack({source: dir, cwd: work, out: join(work, 'out'), tar: notes})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_TAR_OUT_EXISTS',
    })
    expect(readFileSync(notes, 'utf8')).toBe('mine')
    await pack({source: dir, cwd: work, out: join(work, 'out'), tar: notes, force: true})
    expect(readFileSync(notes).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))

    const cli = join(dir, 'cli.js')
    const before = readFileSync(cli, 'utf8')
    await expect(
      pack({source: dir, cwd: work, out: join(work, 'out'), tar: cli, force: true}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_TAR_OUT_EXISTS',
      message: expect.stringContaining('file of the source'),
    })
    expect(readFileSync(cli, 'utf8')).toBe(before)
  })

  it('makes a missing directory of the --tar path, as --out does (once a crash after the commit)', async () => {
    const tgz = join(work, 'new/dir/package.tgz')
    await pack({source: project(), cwd: work, out: join(work, 'out'), tar: tgz})
    expect(readFileSync(tgz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
  })
})

describe('pack: earlier outputs elsewhere in the project', () => {
  it('leaves out a package directory this tool wrote at another path (it carries the marker)', async () => {
    const dir = project()
    await pack({source: '.', cwd: dir, out: 'build/old-package'})
    const result = await pack({source: dir, cwd: work, out: join(work, 'out')})
    expect(existsSync(join(dir, 'build/old-package/.agentos-output.json'))).toBe(true)
    expect(existsSync(join(work, 'out/node_modules/my-tool/build'))).toBe(false)
    const clean = await pack({source: project2(), cwd: work, out: join(work, 'clean')})
    expect(result.digest).toBe(clean.digest)
  })
})

/** A second copy of the project, without any earlier output in it. */
function project2(): string {
  const dir = join(work, 'my-tool-2')
  cpSync(join(installed, 'my-tool'), dir, {recursive: true})
  cpSync(join(installed, 'ms'), join(dir, 'node_modules/ms'), {recursive: true})
  return dir
}
