/**
 * A commit is two renames (target → aside, staging → target) with a journal written before the
 * first and removed last. A test-only pause (AGENTOS_TOOLCHAIN_TEST_PAUSE_COMMIT=<step>) stops a
 * real `assemble-wasm` at each step, SIGKILL ends it there, and the next `run` or `assemble-wasm`
 * naming the target must find it whole: the previous package before the second rename, the new
 * one after it, and nothing of ours left next to it. Runs against dist/: `npm run build` first.
 */
import {mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {assembleWasm} from '../../src/wasm/assemble.js'
import {runProcess, startCli} from '../helpers/cli.js'
import {deadPid} from '../helpers/processes.js'
import {watModule} from '../helpers/project.js'
import {snapshotTree} from '../helpers/tree.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-commit-'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

const flags = (lane: string, n: number) => [
  '--name',
  'journal-cmds',
  '--version',
  `1.0.${n}`,
  '--project',
  lane,
  '--out',
  join(lane, 'out'),
]

async function laneWithPackage(name: string): Promise<string> {
  const lane = join(work, name)
  await mkdir(join(lane, 'build'), {recursive: true})
  await writeFile(join(lane, 'build/hello.wasm'), await watModule('hello'))
  const result = await assembleWasm({
    inputs: [join(lane, 'build')],
    name: 'journal-cmds',
    version: '1.0.0',
    project: lane,
    out: join(lane, 'out'),
  })
  expect(result.ok).toBe(true)
  return lane
}

const siblings = async (lane: string) => (await readdir(lane)).filter((name) => name.startsWith('.out.'))
const versionOf = async (out: string) =>
  (JSON.parse(await readFile(join(out, 'package.json'), 'utf8')) as {version: string}).version

/** Starts assemble-wasm paused at `step` of its commit and SIGKILLs it there. */
async function killAt(lane: string, step: string): Promise<void> {
  const running = startCli(['assemble-wasm', join(lane, 'build'), ...flags(lane, 1), '--json'], {
    env: {AGENTOS_TOOLCHAIN_TEST_PAUSE_COMMIT: step},
  })
  let stderr = ''
  await new Promise<void>((resolve) => {
    running.child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (stderr.includes(`commit paused at ${step}`)) resolve()
    })
    void running.ended.then(() => resolve())
  })
  running.child.kill('SIGKILL')
  const ended = await running.ended
  expect(ended.signal, `the run was not paused at ${step}:\n${stderr}`).toBe('SIGKILL')
}

const NEXT = {
  run: (lane: string) => runProcess(['run', join(lane, 'out'), '--json']),
  'assemble-wasm': (lane: string) =>
    runProcess(['assemble-wasm', join(lane, 'build'), ...flags(lane, 2), '--json']),
}
const STEPS: Array<[string, string]> = [
  ['journal', '1.0.0'],
  ['aside', '1.0.0'],
  ['swapped', '1.0.1'],
  ['removed', '1.0.1'],
]

describe('SIGKILL at each step of a commit', () => {
  for (const [step, kept] of STEPS) {
    for (const [next, start] of Object.entries(NEXT)) {
      it(`killed at "${step}": the next ${next} finds the target whole`, async () => {
        const lane = await laneWithPackage(`${step}-${next}`)
        const before = await snapshotTree(join(lane, 'out'))
        await killAt(lane, step)
        const after = await start(lane)
        expect(after.exitCode, after.stdout + after.stderr).toBe(0)
        expect(await siblings(lane)).toEqual([])
        if (next === 'assemble-wasm') expect(await versionOf(join(lane, 'out'))).toBe('1.0.2')
        else {
          expect(await versionOf(join(lane, 'out'))).toBe(kept)
          if (kept === '1.0.0') expect(await snapshotTree(join(lane, 'out'))).toEqual(before)
        }
      })
    }
  }
})

describe('the state a kill between the renames leaves', () => {
  it('run restores the target (today it reported the package missing)', async () => {
    const lane = await laneWithPackage('crafted')
    const before = await snapshotTree(join(lane, 'out'))
    const pid = await deadPid()
    await rename(join(lane, 'out'), join(lane, `.out.agentos-old-${pid}-0badc0de`))
    const after = await runProcess(['run', join(lane, 'out'), '--json'])
    expect(after.exitCode, after.stdout + after.stderr).toBe(0)
    expect(await snapshotTree(join(lane, 'out'))).toEqual(before)
  })

  it('a journal whose pid was reused by a live process (another start time) is still replayed', async () => {
    const lane = await laneWithPackage('reused')
    const before = await snapshotTree(join(lane, 'out'))
    // The test runner's own pid stands for the reused one: alive, but not started at "1".
    const aside = `.out.agentos-old-${process.pid}-0badc0de`
    await rename(join(lane, 'out'), join(lane, aside))
    const journal = {
      aside,
      staging: `.out.agentos-tmp-${process.pid}-0badf00d`,
      pid: process.pid,
      started: '1',
    }
    await writeFile(join(lane, `.out.agentos-commit-${process.pid}-0badbeef`), JSON.stringify(journal))
    const after = await runProcess(['run', join(lane, 'out'), '--json'])
    expect(after.exitCode, after.stdout + after.stderr).toBe(0)
    expect(await snapshotTree(join(lane, 'out'))).toEqual(before)
    expect(await siblings(lane)).toEqual([])
  })
})
