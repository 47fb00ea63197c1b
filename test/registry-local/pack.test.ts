import {execFile, execFileSync} from 'node:child_process'
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pack} from '../../src/pack/pack.js'
import {readPackage} from '../../src/package/read.js'
import {validatePackage} from '../../src/package/validate.js'
import {ROOT, runProcess} from '../helpers/cli.js'
import {startRegistry, type TestRegistry} from '../helpers/registry.js'

// Packs against a real npm registry (verdaccio) on 127.0.0.1 seeded with fixture packages: no
// internet, no uplink.
const FIXTURES = join(ROOT, 'fixtures/registry')
let registry: TestRegistry
let work: string
let env: Record<string, string>
let installs = 0
const execFileAsync = promisify(execFile)

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: {code?: string}) => error.code,
  )

function fileList(dir: string): string[] {
  return readPackageSync(dir)
}

function readPackageSync(dir: string): string[] {
  return execFileSync('find', ['.', '-type', 'f'], {cwd: dir, encoding: 'utf8'})
    .split('\n')
    .filter(Boolean)
    .map((p) => p.slice(2))
    .sort()
}

/**
 * A copy of a fixture project with its dependencies installed from the test registry by npm. The
 * child runs asynchronously: the registry serves from this very process.
 */
async function installProject(name: string): Promise<string> {
  const dir = join(work, 'projects', `${name}-${++installs}`)
  cpSync(join(FIXTURES, 'projects', name), dir, {recursive: true})
  await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: dir,
    env: {...process.env, ...env},
  })
  return dir
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-registry-'))
  registry = await startRegistry()
  for (const name of [
    'tiny-dep',
    'real-cli',
    'wrapper-cli',
    'native-addon',
    'bundled-pkg',
    'optional-pkg',
    'my-agent',
    'no-shebang',
  ]) {
    await registry.publish(join(FIXTURES, 'packages', name))
  }
  writeFileSync(join(work, 'npmrc'), '')
  env = {
    npm_config_registry: registry.url,
    npm_config_cache: join(work, 'cache'),
    npm_config_userconfig: join(work, 'npmrc'),
    npm_config_update_notifier: 'false',
    // An unreachable registry fails at once instead of after npm's retry back-off.
    npm_config_fetch_retries: '0',
  }
  Object.assign(process.env, env)
}, 120_000)

afterAll(async () => {
  await registry?.close()
  rmSync(work, {recursive: true, force: true})
  for (const key of Object.keys(env ?? {})) delete process.env[key]
})

describe('pack from the registry', () => {
  it('rewrites a wrapper bin that points into its dependency to the hoisted real file', async () => {
    const out = join(work, 'wrapper-package')
    const result = await pack({source: 'wrapper-cli@^2', cwd: work, out, layout: 'flat'})
    expect(result.commands).toEqual([{name: 'wrapper', entry: 'node_modules/@fixture/real-cli/dist/cli.js'}])
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'))
    expect(pkg).toEqual({
      name: 'wrapper-cli',
      version: '2.0.0',
      bin: {wrapper: 'node_modules/@fixture/real-cli/dist/cli.js'},
    })
    expect(fileList(out)).toEqual([
      '.agentos-output.json',
      'agentos-package.json',
      'node_modules/@fixture/real-cli/dist/cli.js',
      'node_modules/@fixture/real-cli/package.json',
      'node_modules/tiny-dep/index.js',
      'node_modules/tiny-dep/package.json',
      'node_modules/wrapper-cli/README.md',
      'node_modules/wrapper-cli/package.json',
      'package.json',
    ])
    expect(lstatSync(join(out, 'node_modules/@fixture/real-cli/dist/cli.js')).mode & 0o777).toBe(0o755)
    expect(execFileSync(process.execPath, [join(out, pkg.bin.wrapper), 'test'], {encoding: 'utf8'})).toBe(
      'hello, test\n',
    )
    expect((await validatePackage(out)).ok).toBe(true)
  })

  it('writes the store layout for a scoped spec and repoints current atomically', async () => {
    const store = join(work, 'packages')
    const result = await pack({
      source: '@fixture/my-agent@0.9.0',
      cwd: work,
      out: store,
      agent: 'my-agent-acp',
    })
    expect(result.out).toBe(join(store, 'my-agent/0.9.0'))
    expect(readlinkSync(join(store, 'my-agent/current'))).toBe('0.9.0')
    const manifest = JSON.parse(readFileSync(join(store, 'my-agent/current/agentos-package.json'), 'utf8'))
    expect(manifest).toEqual({
      name: 'my-agent',
      version: '0.9.0',
      agent: {acpEntrypoint: 'my-agent-acp', snapshot: false},
      provides: {env: {MY_AGENT_HOME: '/opt/agentos/my-agent'}},
    })
    expect(result.closure.leftOut).toEqual([])
    expect((await validatePackage(join(store, 'my-agent/current'))).ok).toBe(true)
  })

  it('gives byte-identical output and the same digest twice', async () => {
    const a = await pack({
      source: 'wrapper-cli',
      cwd: work,
      out: join(work, 'twice-a'),
      layout: 'flat',
      tar: join(work, 'a.tgz'),
    })
    const b = await pack({
      source: 'wrapper-cli',
      cwd: work,
      out: join(work, 'twice-b'),
      layout: 'flat',
      tar: join(work, 'b.tgz'),
    })
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(b.digest).toBe(a.digest)
    expect(b.tar?.sha256).toBe(a.tar?.sha256)
    expect((await readPackage(join(work, 'twice-b'), {digest: true})).digest).toBe(a.digest)
    // The tarball is the same package: inspect/validate read it in place.
    expect((await readPackage(join(work, 'a.tgz'), {digest: true})).digest).toBe(a.digest)
  })

  it('handles an npm alias spec', async () => {
    const result = await pack({
      source: 'mycli@npm:@fixture/real-cli@^1',
      cwd: work,
      out: join(work, 'alias'),
      layout: 'flat',
    })
    expect(result.npmName).toBe('@fixture/real-cli')
    expect(result.commands).toEqual([{name: 'real-cli', entry: 'node_modules/mycli/dist/cli.js'}])
  })

  it('keeps bundled dependencies with their parent', async () => {
    const out = join(work, 'bundled')
    await pack({source: 'bundled-pkg', cwd: work, out, layout: 'flat'})
    expect(existsSync(join(out, 'node_modules/bundled-pkg/node_modules/bundled-inner/index.js'))).toBe(true)
    expect(
      execFileSync(process.execPath, [join(out, 'node_modules/bundled-pkg/bin/bundled.js')], {
        encoding: 'utf8',
      }),
    ).toBe('from the bundled dependency\n')
  })

  it('keeps installed optional dependencies and reports the missing one as left out', async () => {
    const result = await pack({
      source: 'optional-pkg',
      cwd: work,
      out: join(work, 'optional'),
      layout: 'flat',
    })
    expect(result.closure.packages.map((p) => p.name)).toEqual(['optional-pkg', 'tiny-dep'])
    expect(result.closure.leftOut).toEqual([
      {
        name: 'never-published',
        spec: '^1.0.0',
        type: 'optional',
        from: 'optional-pkg',
        reason: 'optional-not-installed',
      },
    ])
  })

  it('refuses native code, and prunes it with --prune-native', async () => {
    const out = join(work, 'native')
    const refused = pack({source: 'native-addon', cwd: work, out, layout: 'flat'})
    await expect(refused).rejects.toMatchObject({code: 'ERR_AGENTOS_PACK_NATIVE'})
    const error = await refused.catch((e) => e)
    expect(error.details).toEqual([
      {
        package: 'native-addon@0.5.0',
        path: 'node_modules/native-addon/build/Release/fast.node',
        kind: 'node addon',
        bytes: 2024,
      },
      {
        package: 'native-addon@0.5.0',
        path: 'node_modules/native-addon/prebuilds/helper',
        kind: 'native ELF binary',
        bytes: 1024,
      },
    ])
    expect(existsSync(out)).toBe(false)
    const result = await pack({source: 'native-addon', cwd: work, out, layout: 'flat', pruneNative: true})
    expect(result.pruned.map((n) => n.path)).toEqual(error.details.map((n: {path: string}) => n.path))
    expect(result.prunedBytes).toBe(3048)
    expect(existsSync(join(out, 'node_modules/native-addon/build/Release/fast.node'))).toBe(false)
    expect(
      execFileSync(process.execPath, [join(out, 'node_modules/native-addon/cli.js')], {encoding: 'utf8'}),
    ).toBe('pure-js\n')
  })

  it('adds a shebang to a JS entry without one, and reports it', async () => {
    const out = join(work, 'no-shebang')
    const result = await pack({source: 'no-shebang', cwd: work, out, layout: 'flat'})
    expect(result.warnings.map((w) => w.code)).toContain('WARN_AGENTOS_PACK_SHEBANG_ADDED')
    expect(readFileSync(join(out, 'node_modules/no-shebang/index.js'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    )
  })

  it('a registry package without bin: a hint for a library, and a path that names the spec, not a temp dir', async () => {
    const error = await pack({source: 'tiny-dep@1.0.0', cwd: work, out: join(work, 'lib')}).catch((e) => e)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_PACK_NO_BIN', path: 'tiny-dep@1.0.0:package.json'})
    expect(error.hint).toContain('is a library')
    expect(error.hint).not.toContain('of the project')
  })

  it('names the package and registry for E404, unreachable and offline cache misses', async () => {
    await expect(pack({source: 'does-not-exist', cwd: work, out: join(work, 'x1')})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_NOT_FOUND',
      message: expect.stringContaining(registry.url),
    })
    await expect(
      pack({source: 'wrapper-cli', cwd: work, out: join(work, 'x2'), registry: 'http://127.0.0.1:9/'}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_REGISTRY_UNREACHABLE',
      message: expect.stringContaining('127.0.0.1:9'),
    })
    process.env.npm_config_cache = join(work, 'empty-cache')
    try {
      await expect(
        pack({source: 'tiny-dep', cwd: work, out: join(work, 'x3'), offline: true}),
      ).rejects.toMatchObject({
        code: 'ERR_AGENTOS_PACK_NOT_CACHED',
        message: expect.stringContaining('tiny-dep'),
      })
    } finally {
      process.env.npm_config_cache = env.npm_config_cache
    }
    // With a warm cache (the earlier tests filled it), --offline works from the cache alone.
    const offline = await pack({
      source: 'wrapper-cli@2.0.0',
      cwd: work,
      out: join(work, 'offline'),
      layout: 'flat',
      offline: true,
    })
    expect(offline.commands[0]!.name).toBe('wrapper')
    for (const dir of ['x1', 'x2', 'x3']) expect(existsSync(join(work, dir))).toBe(false)
  })

  it('refuses --agent that is not a command, and a different declared entrypoint without --force', async () => {
    await expect(
      pack({source: '@fixture/my-agent', cwd: work, out: join(work, 'a1'), agent: 'nope'}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_AGENT_NOT_COMMAND',
    })
  })
})

describe('pack from an installed project', () => {
  it('takes the closure from node_modules without installing, choosing files like npm pack', async () => {
    const project = await installProject('uses-wrapper')
    const out = join(work, 'uses-wrapper-package')
    process.env.npm_config_registry = 'http://127.0.0.1:9/'
    try {
      const result = await pack({source: project, cwd: work, out})
      expect(result.source).toEqual({kind: 'directory', spec: project, installed: false})
      expect(result.closure.leftOut.map((l) => `${l.name}:${l.reason}`)).toEqual(['optional-pkg:dev'])
      const files = fileList(out)
      expect(files).toContain('node_modules/uses-wrapper/lib/message.js')
      expect(files).not.toContain('node_modules/uses-wrapper/src/index.ts')
      expect(files).not.toContain('node_modules/uses-wrapper/test/cli.test.js')
      expect(files.some((f) => f.startsWith('node_modules/optional-pkg/'))).toBe(false)
      expect(files.some((f) => f.includes('/.bin/'))).toBe(false)
      expect(
        execFileSync(process.execPath, [join(out, 'node_modules/uses-wrapper/cli.js')], {encoding: 'utf8'}),
      ).toBe('uses-wrapper hello, wrapper\n')
      const why = Object.fromEntries(result.closure.packages.map((p) => [p.name, p.why.join(' > ')]))
      expect(why['tiny-dep']).toBe('uses-wrapper > wrapper-cli > @fixture/real-cli > tiny-dep')
    } finally {
      process.env.npm_config_registry = env.npm_config_registry
    }
  })

  it('follows workspace links to real files and skips dev edges at every level', async () => {
    const project = await installProject('workspace')
    const out = join(work, 'ws-package')
    const result = await pack({source: project, cwd: work, out, install: false})
    const files = fileList(out)
    expect(files).toContain('node_modules/ws-lib/index.js')
    expect(files).not.toContain('node_modules/ws-lib/notes.md')
    expect(files.some((f) => f.startsWith('node_modules/bundled-pkg/'))).toBe(false)
    expect(files.some((f) => f.startsWith('node_modules/optional-pkg/'))).toBe(false)
    expect(lstatSync(join(out, 'node_modules/ws-lib')).isSymbolicLink()).toBe(false)
    expect(result.closure.leftOut.map((l) => `${l.from}:${l.name}`).sort()).toEqual([
      'ws-lib:bundled-pkg',
      'ws-root:optional-pkg',
    ])
    expect(
      execFileSync(process.execPath, [join(out, 'node_modules/ws-root/bin/ws-tool.js')], {encoding: 'utf8'}),
    ).toBe('hello, workspace\n')
  })

  it('fails with --no-install naming the missing dependencies, and installs without it', async () => {
    const dir = join(work, 'projects/not-installed')
    cpSync(join(FIXTURES, 'projects/uses-wrapper'), dir, {recursive: true})
    await expect(pack({source: dir, cwd: work, out: join(work, 'ni'), install: false})).rejects.toMatchObject(
      {
        code: 'ERR_AGENTOS_PACK_DEPS_MISSING',
        message: expect.stringContaining('wrapper-cli@^2.0.0'),
      },
    )
    const result = await pack({source: dir, cwd: work, out: join(work, 'ni')})
    expect(result.source.installed).toBe(true)
    expect(fileList(join(work, 'ni'))).toContain('node_modules/uses-wrapper/lib/message.js')
    expect(fileList(join(work, 'ni'))).not.toContain('node_modules/uses-wrapper/src/index.ts')
  })
})

describe('pack refuses unsafe targets and leaves them untouched', () => {
  it('refuses the source, a parent of it, a file and a foreign directory', async () => {
    const project = await installProject('uses-wrapper')
    const file = join(work, 'a-file')
    writeFileSync(file, 'keep me')
    const foreign = join(work, 'foreign')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'notes.txt'), 'user data')
    expect(await codeOf(pack({source: project, cwd: work, out: project}))).toBe(
      'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
    )
    expect(await codeOf(pack({source: project, cwd: work, out: join(project, '..')}))).toBe(
      'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
    )
    expect(await codeOf(pack({source: project, cwd: work, out: file}))).toBe('ERR_AGENTOS_OUT_IS_FILE')
    expect(await codeOf(pack({source: project, cwd: work, out: foreign}))).toBe('ERR_AGENTOS_OUT_NOT_EMPTY')
    expect(readFileSync(file, 'utf8')).toBe('keep me')
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('user data')
    // An earlier package output is replaced; --force replaces a foreign directory.
    await pack({source: project, cwd: work, out: join(work, 'again')})
    await pack({source: project, cwd: work, out: join(work, 'again')})
    await pack({source: project, cwd: work, out: foreign, force: true})
    expect(existsSync(join(foreign, 'notes.txt'))).toBe(false)
    expect(existsSync(join(foreign, 'agentos-package.json'))).toBe(true)
  })

  it('runs through the CLI with --json: one document, the default ./<name>-package output', async () => {
    const project = await installProject('uses-wrapper')
    const cwd = mkdtempSync(join(work, 'cli-'))
    const result = await runProcess(['pack', project, '--json'], {cwd, env})
    expect(result.exitCode).toBe(0)
    const document = JSON.parse(result.stdout)
    expect(document).toMatchObject({
      name: 'uses-wrapper',
      version: '1.0.0',
      out: join(cwd, 'uses-wrapper-package'),
    })
    expect(document.closure.packages.length).toBe(document.packages)
    const refused = await runProcess(['pack', project, '--out', project, '--json'], {cwd, env})
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout).error.code).toBe('ERR_AGENTOS_OUT_CONTAINS_SOURCE')
  })
})

describe('pack of a workspace member', () => {
  it('takes the closure from the workspace root, siblings as real files, with no registry', async () => {
    const root = join(work, 'projects', 'ws-member')
    cpSync(join(FIXTURES, 'projects/workspace'), root, {recursive: true})
    const member = join(root, 'packages/ws-cli')
    mkdirSync(member)
    writeFileSync(
      join(member, 'package.json'),
      JSON.stringify({
        name: '@m/ws-cli',
        version: '0.1.0',
        bin: {'ws-cli': 'cli.js'},
        dependencies: {'ws-lib': '^1.0.0', 'tiny-dep': '^1.0.0'},
      }),
    )
    writeFileSync(join(member, 'cli.js'), "#!/usr/bin/env node\nconsole.log('cli:', require('ws-lib')())\n")
    await execFileAsync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
      {
        cwd: root,
        env: {...process.env, ...env},
      },
    )
    expect(existsSync(join(member, 'node_modules'))).toBe(false)
    const out = join(work, 'ws-member-package')
    // An unreachable registry: the workspace root's installed tree is all it may use.
    const result = await pack({source: member, cwd: work, out, registry: 'http://127.0.0.1:9/'})
    expect(result.source.installed).toBe(false)
    expect(result.source.workspaceRoot).toBe(realpathSync(root))
    expect(result.closure.packages.map((p) => [p.name, p.path]).sort()).toEqual([
      ['@m/ws-cli', 'node_modules/@m/ws-cli'],
      ['tiny-dep', 'node_modules/tiny-dep'],
      ['ws-lib', 'node_modules/ws-lib'],
    ])
    expect(lstatSync(join(out, 'node_modules/ws-lib')).isSymbolicLink()).toBe(false)
    expect(fileList(out)).not.toContain('node_modules/ws-lib/notes.md')
    expect(
      execFileSync(process.execPath, [join(out, 'node_modules/@m/ws-cli/cli.js')], {encoding: 'utf8'}),
    ).toBe('cli: hello, workspace\n')
    expect((await validatePackage(out)).ok).toBe(true)
  })
})

// Last in the file: it publishes tiny-dep 1.1.0, which the tests above do not expect.
describe('pack of a project with a lockfile and no node_modules', () => {
  let project: string

  beforeAll(async () => {
    project = join(work, 'projects', 'locked')
    mkdirSync(project, {recursive: true})
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'locked-tool',
        version: '1.0.0',
        bin: {locked: 'cli.js'},
        dependencies: {'tiny-dep': '^1.0.0'},
      }),
    )
    writeFileSync(join(project, 'cli.js'), "#!/usr/bin/env node\nconsole.log(require('tiny-dep'))\n")
    // Locked while the registry has only 1.0.0; then a newer 1.x appears.
    await execFileAsync(
      'npm',
      ['install', '--package-lock-only', '--no-audit', '--no-fund', '--loglevel=error'],
      {
        cwd: project,
        env: {...process.env, ...env},
      },
    )
    const newer = join(work, 'tiny-dep-1.1.0')
    cpSync(join(FIXTURES, 'packages/tiny-dep'), newer, {recursive: true})
    writeFileSync(
      join(newer, 'package.json'),
      JSON.stringify({name: 'tiny-dep', version: '1.1.0', main: 'index.js'}),
    )
    await registry.publish(newer)
  }, 120_000)

  const versions = (result: Awaited<ReturnType<typeof pack>>) =>
    Object.fromEntries(result.closure.packages.map((p) => [p.name, p.version]))

  it('installs exactly the locked versions, as npm ci does, and says which lockfile', async () => {
    const result = await pack({source: project, cwd: work, out: join(work, 'locked-out')})
    expect(versions(result)).toEqual({'locked-tool': '1.0.0', 'tiny-dep': '1.0.0'})
    expect(result.source).toMatchObject({kind: 'directory', installed: true, lockfile: 'package-lock.json'})
    expect(
      JSON.parse(readFileSync(join(work, 'locked-out/node_modules/tiny-dep/package.json'), 'utf8')).version,
    ).toBe('1.0.0')
    // The project's own files come from the project, not from the scratch copy.
    expect(readFileSync(join(work, 'locked-out/node_modules/locked-tool/cli.js'), 'utf8')).toContain(
      'tiny-dep',
    )
    expect(existsSync(join(work, 'locked-out/node_modules/locked-tool/package-lock.json'))).toBe(false)
    expect(existsSync(join(project, 'node_modules'))).toBe(false)
  })

  it('without the lockfile, takes what the registry serves today (the reason for the above)', async () => {
    const copy = join(work, 'projects', 'unlocked')
    cpSync(project, copy, {recursive: true})
    rmSync(join(copy, 'package-lock.json'))
    const result = await pack({source: copy, cwd: work, out: join(work, 'unlocked-out')})
    expect(versions(result)['tiny-dep']).toBe('1.1.0')
    expect(result.source.lockfile).toBeUndefined()
  })

  it('refuses a lockfile that does not satisfy package.json, naming the dependency', async () => {
    const copy = join(work, 'projects', 'stale-lock')
    cpSync(project, copy, {recursive: true})
    const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'))
    pkg.dependencies['tiny-dep'] = '^1.1.0'
    writeFileSync(join(copy, 'package.json'), JSON.stringify(pkg))
    await expect(pack({source: copy, cwd: work, out: join(work, 'stale-out')})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_PACK_LOCKFILE_MISMATCH',
      message: 'package-lock.json does not satisfy package.json: tiny-dep@^1.1.0 is locked at 1.0.0',
      path: join(copy, 'package-lock.json'),
    })
    expect(existsSync(join(work, 'stale-out'))).toBe(false)
  })
})
