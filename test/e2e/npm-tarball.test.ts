// The npm distribution: `npm pack` of this project holds only what runs (no sources, tests,
// fixtures or maps), and that tarball, installed into an empty prefix the way npx installs it,
// packs and validates the README's example.
//
// The install is offline and lockfile-exact: the prefix gets a package-lock.json made from this
// project's own lockfile (its production entries, with the tarball as the root's one dependency),
// and `npm ci --offline` takes every dependency from the npm cache, where `npm ci` of this project
// put exactly those tarballs. A plain `npm install --offline <tarball>` would need the registry
// metadata of every dependency, which `npm ci` never fetches, so it failed on any machine whose
// cache had not seen them. This also installs the versions the rest of the suite tested, not
// whatever the registry serves today. AGENTOS_TOOLCHAIN_TEST_NPM_ONLINE=1 installs as npx really
// does instead (ranges resolved against the registry, `--prefer-offline`).
import {execFile} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, delimiter, dirname, join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {type CliResult, ROOT, spawnCapture} from '../helpers/cli.js'

const online = process.env.AGENTOS_TOOLCHAIN_TEST_NPM_ONLINE === '1'
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  license: string
  bin: Record<string, string>
  engines: Record<string, string>
  dependencies: Record<string, string>
}
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

interface LockEntry {
  dev?: boolean
  devOptional?: boolean
  [key: string]: unknown
}

/**
 * Writes the prefix's package.json and a lockfile that installs the tarball with this project's
 * locked production closure, hoisted where this project has it: the CLI at
 * node_modules/<name>, its dependencies beside it, where its own lookups find them.
 */
function writePrefixLockfile(prefix: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  const file = basename(tarball)
  cpSync(tarball, join(prefix, file))
  const root = {name: 'npx-prefix', private: true, dependencies: {[pjson.name]: `file:${file}`}}
  const packages: Record<string, unknown> = {
    '': root,
    [`node_modules/${pjson.name}`]: {
      version: pjson.version,
      resolved: `file:${file}`,
      license: pjson.license,
      dependencies: pjson.dependencies,
      bin: pjson.bin,
      engines: pjson.engines,
    },
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry
  }
  writeFileSync(join(prefix, 'package.json'), JSON.stringify(root))
  writeFileSync(
    join(prefix, 'package-lock.json'),
    JSON.stringify({name: root.name, lockfileVersion: 3, requires: true, packages}),
  )
}

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
      'dist/cli/fast/version.js',
      'dist/cli/pack-fast.bundle.cjs',
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
  let skipReason: string | undefined

  beforeEach((context) => {
    if (skipReason) context.skip(skipReason)
  })

  beforeAll(async () => {
    prefix = join(work, 'prefix')
    mkdirSync(prefix)
    try {
      if (online) {
        await npm(['install', '--prefer-offline', '--prefix', prefix, tarball], work)
      } else {
        writePrefixLockfile(prefix)
        await npm(['ci', '--offline'], prefix)
      }
    } catch (error) {
      const text = String((error as {stderr?: string}).stderr ?? error)
      // Only a cache that lacks a locked tarball is the machine's doing; anything else is ours.
      if (!online && /ENOTCACHED/.test(text)) {
        skipReason =
          'the npm cache lacks a locked dependency tarball (run `npm ci` first, with the same cache)'
        return
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
