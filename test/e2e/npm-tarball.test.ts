// The npm distribution: `npm pack` of this project holds only what runs (no sources, tests,
// fixtures or maps), and that tarball, installed into an empty prefix the way npx installs it,
// packs and validates the README's example.
//
// The install is `npm install --offline`: every dependency comes from the npm cache, which
// `npm ci` of this project fills. Where the cache lacks something (an npm cache that never saw
// these versions' metadata), set AGENTOS_TOOLCHAIN_TEST_NPM_ONLINE=1 to let npm fetch what is
// missing (`--prefer-offline`).
import {execFile} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type CliResult, ROOT, spawnCapture} from '../helpers/cli.js'

const online = process.env.AGENTOS_TOOLCHAIN_TEST_NPM_ONLINE === '1'
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string}
let work: string
let tarball: string
let files: string[]

/** npm with this test's Node first on PATH, so npm and the installed CLI run on it. */
async function npm(args: string[], cwd: string): Promise<string> {
  const {stdout} = await promisify(execFile)('npm', args, {
    cwd,
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    },
    maxBuffer: 64 * 1024 * 1024,
  })
  return stdout
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agentos-npm-'))
  const packed = JSON.parse(await npm(['pack', ROOT, '--pack-destination', work, '--json'], work)) as {
    filename: string
    files: {path: string}[]
  }[]
  tarball = join(work, packed[0]?.filename ?? '')
  files = (packed[0]?.files ?? []).map((f) => f.path).sort()
}, 120_000)
afterAll(() => {
  rmSync(work, {recursive: true, force: true})
})

describe('npm pack', () => {
  it('ships the CLI, its compiled code and types, the oclif manifest and the JSON Schema', () => {
    expect(existsSync(tarball)).toBe(true)
    for (const file of [
      'package.json',
      'README.md',
      'bin/run.js',
      'oclif.manifest.json',
      'schema/agentos-package.schema.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/commands/index.js',
      'dist/lib/version.js',
      'dist/core/pack-fast.bundle.cjs',
    ]) {
      expect(files).toContain(file)
    }
  })

  it('ships nothing else: no sources, tests, fixtures, scripts, maps or build caches', () => {
    const allowed =
      /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|bin\/run\.js|oclif\.manifest\.json|schema\/[^/]+\.json|dist\/.+\.(js|cjs|d\.ts))$/
    expect(files.filter((file) => !allowed.test(file))).toEqual([])
    expect(files.filter((file) => file.endsWith('.map') || /(^|\/)(test|fixtures|src)\//.test(file))).toEqual(
      [],
    )
  })
})

describe('the tarball installed as npx installs it', () => {
  let prefix: string
  let project: string

  beforeAll(async () => {
    prefix = join(work, 'prefix')
    mkdirSync(prefix)
    try {
      await npm(['install', online ? '--prefer-offline' : '--offline', '--prefix', prefix, tarball], work)
    } catch (error) {
      const text = String((error as {stderr?: string}).stderr ?? error)
      if (!online && /ENOTCACHED/.test(text)) {
        throw new Error(
          `npm install --offline: the npm cache lacks a dependency. Run npm ci first, or set AGENTOS_TOOLCHAIN_TEST_NPM_ONLINE=1 to let npm fetch it.\n${text}`,
        )
      }
      throw error
    }
    // The README's my-tool project, with its node_modules, as scripts/demo.mjs builds it.
    project = join(work, 'my-tool')
    const installed = join(ROOT, 'fixtures/examples/my-tool-package/node_modules')
    cpSync(join(installed, 'my-tool'), project, {recursive: true})
    cpSync(join(installed, 'ms'), join(project, 'node_modules/ms'), {recursive: true})
  }, 180_000)

  /** Runs the installed bin through its node_modules/.bin link and `#!/usr/bin/env node`. */
  function cli(args: string[]): Promise<CliResult> {
    return spawnCapture(join(prefix, 'node_modules/.bin/agentos-toolchain'), args, {
      cwd: work,
      env: {
        ...process.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        OCLIF_SKIP_NEW_VERSION_CHECK: 'true',
      },
    })
  }

  it('installs only the runtime dependencies', () => {
    expect(existsSync(join(prefix, 'node_modules', pjson.name, 'bin/run.js'))).toBe(true)
    for (const dev of ['vitest', 'typescript', 'esbuild', 'postject', 'oclif']) {
      expect(existsSync(join(prefix, 'node_modules', dev)), dev).toBe(false)
    }
  })

  it('prints its version and help', async () => {
    const version = await cli(['--version'])
    expect(version.exitCode).toBe(0)
    expect(version.stdout).toContain(`${pjson.name}/${pjson.version} `)
    const help = await cli(['--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toContain('pack')
  })

  it('packs the my-tool project and validates the result', async () => {
    const out = join(work, 'my-tool-package')
    const packed = await cli(['pack', project, '--out', out, '--json'])
    expect(packed.exitCode, packed.stderr).toBe(0)
    const report = JSON.parse(packed.stdout)
    expect(report).toMatchObject({name: 'my-tool', version: '1.0.0', out})
    expect(report.commands).toEqual([{name: 'my-tool', entry: 'node_modules/my-tool/cli.js'}])
    const validated = await cli(['validate', out, '--json'])
    expect(validated.exitCode, validated.stderr).toBe(0)
    expect(JSON.parse(validated.stdout).ok).toBe(true)
    const usage = await cli(['validate'])
    expect(usage.exitCode).toBe(2)
  })
})
