import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProcess} from '../helpers/cli.js'
import {requires, type Need} from '../helpers/requirements.js'
import {example} from '../helpers/run-fixtures.js'

// `runtime install` for real, into an empty cache: an npm install of about 1.2 GB (minutes on a
// cold npm cache, and better-sqlite3 compiles when its prebuilt binary cannot be downloaded), so
// only when asked for.
const installTest = (): Need =>
  process.env.AGENTOS_TOOLCHAIN_RUNTIME_INSTALL_TEST === '1'
    ? {ok: true, reason: ''}
    : {
        ok: false,
        reason: 'runtime install downloads about 1 GB (AGENTOS_TOOLCHAIN_RUNTIME_INSTALL_TEST=1 runs it)',
      }

let work: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-runtime-install-'))
  env = {AGENTOS_TOOLCHAIN_CACHE: join(work, 'cache'), AGENTOS_TOOLCHAIN_RUNTIME: ''}
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('runtime install', {timeout: 900_000}, () => {
  it('installs the pinned runtime into the cache, where list and run find it', async (context) => {
    requires(context, installTest)
    const installed = await runProcess(['runtime', 'install', '--json'], {cwd: work, env})
    expect(installed.exitCode).toBe(0)
    const doc = JSON.parse(installed.stdout) as Record<string, unknown>
    expect(doc).toMatchObject({
      ok: true,
      alreadyInstalled: false,
      dir: join(work, 'cache', 'runtime', doc.version as string),
      integrity: expect.stringMatching(/^sha512-/),
    })
    // Nothing but the version's directory: the temp sibling was renamed, not left behind.
    expect(await readdir(join(work, 'cache', 'runtime'))).toEqual([doc.version])

    const again = await runProcess(['runtime', 'install', '--json'], {cwd: work, env})
    expect(JSON.parse(again.stdout)).toMatchObject({alreadyInstalled: true})

    const list = JSON.parse((await runProcess(['runtime', 'list', '--json'], {cwd: work, env})).stdout) as {
      selected: {source: string; version: string}
    }
    expect(list.selected).toMatchObject({source: 'cache', version: doc.version})

    const run = await runProcess(
      ['run', '--engine', 'agentos', example('my-tool-package'), '--', 'my-tool', '1h'],
      {
        cwd: work,
        env,
      },
    )
    expect(run).toMatchObject({stdout: 'my-tool: 3600000\n', exitCode: 0})
  })
})
