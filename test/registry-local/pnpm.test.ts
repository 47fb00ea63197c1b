import {execFile} from 'node:child_process'
import {lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pack} from '../../src/pack/pack.js'
import {validatePackage} from '../../src/package/validate.js'
import {ROOT, runProcess} from '../helpers/cli.js'
import {startRegistry, type TestRegistry} from '../helpers/registry.js'

// Projects installed by real pnpm (pinned in devDependencies) from a real registry (verdaccio on
// 127.0.0.1), then packed with an unreachable registry: pnpm's installed tree is all pack may use.
const PNPM = join(ROOT, 'node_modules/.bin/pnpm')
const OFFLINE = 'http://127.0.0.1:9/'
const execFileAsync = promisify(execFile)
let registry: TestRegistry
let work: string

interface Fixture {
  name: string
  version: string
  deps?: Record<string, string>
  optional?: Record<string, string>
}

/**
 * 25 packages: a chain of leaves, three mid-level packages, and pg-core in two major versions
 * (the conflict: pg-a and pg-b want 1.x, pg-c and @pg/scoped want 2.x). Each module returns its
 * name@version and what its dependencies return, so a wrong layout shows in the output.
 */
const FIXTURES: Fixture[] = [
  ...Array.from({length: 16}, (_, i) => ({
    name: `pg-leaf-${i}`,
    version: '1.0.0',
    deps: i % 3 === 0 && i < 13 ? {[`pg-leaf-${i + 1}`]: '^1.0.0'} : undefined,
  })),
  {name: 'pg-core', version: '1.0.0', deps: {'pg-leaf-5': '^1.0.0'}},
  {name: 'pg-core', version: '2.0.0', deps: {'pg-leaf-6': '^1.0.0'}},
  {name: 'pg-a', version: '1.0.0', deps: {'pg-core': '^1.0.0', 'pg-leaf-0': '^1.0.0', 'pg-leaf-2': '^1.0.0'}},
  {name: 'pg-b', version: '1.0.0', deps: {'pg-core': '^1.0.0', 'pg-leaf-3': '^1.0.0'}},
  {
    name: 'pg-c',
    version: '1.0.0',
    deps: {'pg-core': '^2.0.0', 'pg-leaf-7': '^1.0.0', 'pg-leaf-12': '^1.0.0'},
  },
  {name: '@pg/scoped', version: '1.0.0', deps: {'pg-core': '^2.0.0', 'pg-leaf-8': '^1.0.0'}},
  {name: 'pg-opt', version: '1.0.0', deps: {'pg-leaf-9': '^1.0.0', 'pg-leaf-15': '^1.0.0'}},
  {name: 'pg-devonly', version: '1.0.0', deps: {'pg-leaf-11': '^1.0.0'}},
]

function writeModule(dir: string, fixture: Fixture): void {
  mkdirSync(dir, {recursive: true})
  const deps = Object.keys({...fixture.deps, ...fixture.optional})
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: fixture.name,
      version: fixture.version,
      main: 'index.js',
      ...(fixture.deps ? {dependencies: fixture.deps} : {}),
      ...(fixture.optional ? {optionalDependencies: fixture.optional} : {}),
    }),
  )
  writeFileSync(
    join(dir, 'index.js'),
    `module.exports = () => '${fixture.name}@${fixture.version}' + ` +
      `'(' + ${JSON.stringify(deps)}.map((d) => require(d)()).join(',') + ')'\n`,
  )
}

/** A CLI printing the tree its dependencies return. */
function writeCli(dir: string, deps: string[]): void {
  writeFileSync(
    join(dir, 'cli.js'),
    `#!/usr/bin/env node\nconsole.log(${JSON.stringify(deps)}.map((d) => require(d)()).join(' '))\n`,
  )
}

async function pnpm(cwd: string, args: string[]): Promise<string> {
  const {stdout} = await execFileAsync(
    PNPM,
    args[0] === 'install'
      ? [
          ...args,
          '--registry',
          registry.url,
          '--store-dir',
          join(work, 'store'),
          '--config.confirmModulesPurge=false',
        ]
      : args,
    {
      cwd,
      env: {...process.env, npm_config_userconfig: join(work, 'npmrc'), npm_config_update_notifier: 'false'},
    },
  )
  return stdout
}

/** name@version of every package pnpm lists as a production dependency, at any depth. */
function pnpmVersions(list: unknown): string[] {
  const found = new Set<string>()
  const walk = (deps: Record<string, {version: string; dependencies?: unknown}> | undefined) => {
    for (const [name, dep] of Object.entries(deps ?? {})) {
      found.add(`${name}@${dep.version}`)
      walk(dep.dependencies as never)
    }
  }
  for (const project of list as Array<Record<string, unknown>>) {
    walk(project.dependencies as never)
    walk(project.optionalDependencies as never)
  }
  return [...found].sort()
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-pnpm-'))
  writeFileSync(join(work, 'npmrc'), '')
  registry = await startRegistry()
  for (const fixture of FIXTURES) {
    const dir = join(work, 'published', `${fixture.name.replace('/', '-')}-${fixture.version}`)
    writeModule(dir, fixture)
    await registry.publish(dir)
  }
}, 120_000)

afterAll(async () => {
  await registry?.close()
  rmSync(work, {recursive: true, force: true})
})

describe('pack of a pnpm-installed project', () => {
  it('packs offline the versions pnpm installed, conflicts nested, as real files that run', async () => {
    const project = join(work, 'pnpm-app')
    mkdirSync(project)
    const deps = ['@pg/scoped', 'pg-a', 'pg-b', 'pg-c', 'pg-leaf-10']
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'pnpm-app',
        version: '1.0.0',
        bin: {'pnpm-app': 'cli.js'},
        dependencies: Object.fromEntries(deps.map((d) => [d, '^1.0.0'])),
        optionalDependencies: {'pg-opt': '^1.0.0'},
        devDependencies: {'pg-devonly': '^1.0.0'},
      }),
    )
    writeCli(project, [...deps, 'pg-opt'])
    await pnpm(project, ['install'])
    expect(lstatSync(join(project, 'node_modules/.pnpm')).isDirectory()).toBe(true)
    const expected = pnpmVersions(
      JSON.parse(await pnpm(project, ['list', '--prod', '--depth', 'Infinity', '--json'])),
    )
    expect(expected.length).toBeGreaterThanOrEqual(20)
    expect(expected).toContain('pg-core@1.0.0')
    expect(expected).toContain('pg-core@2.0.0')
    expect(expected).not.toContain('pg-devonly@1.0.0')

    const out = join(work, 'pnpm-app-package')
    const result = await pack({source: project, cwd: work, out, registry: OFFLINE})
    expect(result.source).toEqual({kind: 'directory', spec: project, installed: false, installedBy: 'pnpm'})
    const packed = [...new Set(result.closure.packages.slice(1).map((p) => `${p.name}@${p.version}`))].sort()
    expect(packed).toEqual(expected)
    // One pg-core at the top, the other nested under each dependent that needs it.
    const cores = result.closure.packages.filter((p) => p.name === 'pg-core').map((p) => p.path)
    expect(cores).toContain('node_modules/pg-core')
    expect(cores.length).toBeGreaterThan(1)
    expect(result.closure.leftOut).toContainEqual(
      expect.objectContaining({name: 'pg-devonly', reason: 'dev'}),
    )
    const files = readFileSync(join(out, 'node_modules/pg-a/package.json'), 'utf8')
    expect(files).toContain('"pg-a"')
    expect(lstatSync(join(out, 'node_modules/pg-a')).isSymbolicLink()).toBe(false)
    expect(() => lstatSync(join(out, 'node_modules/.pnpm'))).toThrow()

    // The packed tree answers exactly as pnpm's did.
    const inPnpm = await execFileAsync(process.execPath, [join(project, 'cli.js')])
    const inPackage = await execFileAsync(process.execPath, [join(out, 'node_modules/pnpm-app/cli.js')])
    expect(inPackage.stdout).toBe(inPnpm.stdout)
    expect(inPackage.stdout).toContain('pg-core@1.0.0')
    expect(inPackage.stdout).toContain('pg-core@2.0.0')

    const validation = await validatePackage(out)
    expect(validation.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(validation.ok).toBe(true)

    // The CLI's --json says the same, and the same inputs give the same digest.
    const cli = await runProcess([
      'pack',
      project,
      '--out',
      join(work, 'pnpm-app-cli'),
      '--json',
      '--registry',
      OFFLINE,
    ])
    expect(cli.code).toBe(0)
    const report = JSON.parse(cli.stdout) as {digest: string; source: Record<string, unknown>}
    expect(report.source).toEqual(result.source)
    expect(report.digest).toBe(result.digest)
  }, 120_000)

  it('refuses a pnpm lockfile whose production dependencies are not installed, naming them', async () => {
    const project = join(work, 'pnpm-not-installed')
    mkdirSync(project)
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'pnpm-ni',
        version: '1.0.0',
        bin: {ni: 'cli.js'},
        dependencies: {'pg-a': '^1.0.0'},
      }),
    )
    writeFileSync(join(project, 'cli.js'), '#!/usr/bin/env node\n')
    writeFileSync(join(project, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n")
    const error = await pack({
      source: project,
      cwd: work,
      out: join(work, 'ni-package'),
      registry: OFFLINE,
    }).then(
      () => undefined,
      (e: {code?: string; message: string; hint?: string}) => e,
    )
    expect(error?.code).toBe('ERR_AGENTOS_PACK_PNPM_NOT_INSTALLED')
    expect(error?.message).toContain('pg-a@^1.0.0 (needed by pnpm-ni)')
    expect(error?.hint).toContain('pnpm install')
  })
})

describe('pack of a pnpm workspace member', () => {
  it('copies workspace: siblings as real files, resolves their ranges, runs under run', async () => {
    const root = join(work, 'pnpm-ws')
    mkdirSync(root)
    writeFileSync(join(root, 'package.json'), JSON.stringify({name: 'pnpm-ws-root', private: true}))
    writeFileSync(join(root, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\n")
    writeModule(join(root, 'packages/lib'), {name: '@w/lib', version: '1.0.0', deps: {'pg-leaf-0': '^1.0.0'}})
    writeModule(join(root, 'packages/util'), {name: '@w/util', version: '2.1.0', deps: {'pg-core': '^2.0.0'}})
    const cli = join(root, 'packages/cli')
    mkdirSync(cli)
    writeFileSync(
      join(cli, 'package.json'),
      JSON.stringify({
        name: '@w/cli',
        version: '0.3.0',
        bin: {'w-cli': 'cli.js'},
        dependencies: {'@w/lib': 'workspace:*', '@w/util': 'workspace:^', 'pg-core': '^1.0.0'},
      }),
    )
    writeCli(cli, ['@w/lib', '@w/util', 'pg-core'])
    await pnpm(root, ['install'])

    const out = join(work, 'w-cli-package')
    const result = await pack({source: cli, cwd: work, out, registry: OFFLINE})
    expect(result.source).toMatchObject({installed: false, installedBy: 'pnpm', workspaceRoot: root})
    const byName = Object.fromEntries(result.closure.packages.map((p) => [`${p.name}@${p.version}`, p.path]))
    expect(byName).toMatchObject({
      '@w/cli@0.3.0': 'node_modules/@w/cli',
      '@w/lib@1.0.0': 'node_modules/@w/lib',
      '@w/util@2.1.0': 'node_modules/@w/util',
      'pg-core@1.0.0': 'node_modules/pg-core',
      'pg-core@2.0.0': 'node_modules/@w/util/node_modules/pg-core',
    })
    for (const dir of ['node_modules/@w/lib', 'node_modules/@w/util']) {
      expect(lstatSync(join(out, dir)).isSymbolicLink()).toBe(false)
    }
    const member = JSON.parse(readFileSync(join(out, 'node_modules/@w/cli/package.json'), 'utf8'))
    expect(member.dependencies).toEqual({'@w/lib': '1.0.0', '@w/util': '^2.1.0', 'pg-core': '^1.0.0'})
    // The source is left as it was.
    expect(JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')).dependencies['@w/lib']).toBe(
      'workspace:*',
    )

    const run = await runProcess(['run', out, '--', 'w-cli'])
    expect(run.stderr).toBe('')
    const inPnpm = await execFileAsync(process.execPath, [join(cli, 'cli.js')])
    expect(run.stdout).toBe(inPnpm.stdout)
    expect(run.stdout).toBe(
      '@w/lib@1.0.0(pg-leaf-0@1.0.0(pg-leaf-1@1.0.0())) ' +
        '@w/util@2.1.0(pg-core@2.0.0(pg-leaf-6@1.0.0(pg-leaf-7@1.0.0()))) pg-core@1.0.0(pg-leaf-5@1.0.0())\n',
    )
    expect(run.code).toBe(0)
    const validate = await runProcess(['validate', out, '--json'])
    expect(validate.code).toBe(0)
  }, 120_000)
})
