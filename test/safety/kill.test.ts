/**
 * SIGKILL at seeded random moments: `pack` of an installed local project and `assemble-wasm` of
 * the WAT fixtures, each killed after a delay drawn from [0, the typical runtime]. Whatever the
 * moment, the target is afterwards either exactly as before or a complete package that validates,
 * anything left next to it is a recognisable temp sibling, and the next run removes those. Then
 * signals aimed at the moment the staging dir appears, and a kill between the commit's renames.
 *
 * Killed runs are real processes against dist/ (`npm run build` first); states before and the
 * "next run" after are made in-process, which is cheaper and goes through the same code.
 */
import {watch} from 'node:fs'
import {appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {assembleWasm} from '../../src/wasm/assemble.js'
import {checkTarget} from '../../src/output/target.js'
import {pack} from '../../src/pack/pack.js'
import {validatePackage} from '../../src/package/validate.js'
import {startCli} from '../helpers/cli.js'
import {deadPid} from '../helpers/processes.js'
import {makeProject, watModule} from '../helpers/project.js'
import {seededRandom, testSeed} from '../helpers/seed.js'
import {snapshotTree, type TreeEntry} from '../helpers/tree.js'

// AGENTOS_TEST_KILL_TRIALS sets the count; CI runs the full 20, a local run 6 unless told.
const TRIALS = Number(process.env.AGENTOS_TEST_KILL_TRIALS) || (process.env.CI ? 20 : 6)
const LANES = 2
// Each trial is a process run; on a loaded machine 20 of them take minutes, not seconds.
const TRIAL_TIMEOUT = 300_000
const SEED = testSeed()
console.log(`[kill trials] seed ${SEED} (replay: FC_SEED=${SEED})`)

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-kill-'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

// `.out.agentos-tmp-<pid>-<hex>` (staging) and `.out.agentos-old-<pid>-<hex>` (a replaced output).
const OURS = /^\.out\.agentos-(tmp|old|commit)-\d+-[0-9a-f]+$/
const isOurs = (name: string) => OURS.test(name)
const ours = async (lane: string) => (await readdir(lane)).filter(isOurs)

/**
 * 200 small files: they stretch the copy phase so that a signal sent when the staging dir appears
 * lands while files are still being written, not after the commit.
 */
async function manySmallFiles(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
  await Promise.all(
    Array.from({length: 200}, (_, i) =>
      writeFile(join(dir, `f${i}.js`), `module.exports = ${i}\n`.repeat(20)),
    ),
  )
}

interface Subject {
  /** Writes the sources into a fresh lane directory (`bulk`: with 200 extra small files). */
  setup(lane: string, bulk?: boolean): Promise<void>
  /** Makes run `n`'s input (or version) differ from every other run's; returns the CLI arguments. */
  args(lane: string, n: number): Promise<string[]>
  /** The same run `n`, in-process. */
  inProcess(lane: string, n: number): Promise<void>
  /** True when the package at `out` is the one run `n` writes. */
  isRun(out: string, n: number): Promise<boolean>
}

const SUBJECTS: Record<'pack' | 'assemble-wasm', Subject> = {
  pack: {
    async setup(lane, bulk) {
      const project = await makeProject(lane)
      if (bulk) await manySmallFiles(join(project, 'node_modules/ms/extra'))
    },
    async args(lane, n) {
      // A different cli.js per run tells the new package apart from the old one.
      await appendFile(join(lane, 'my-tool/cli.js'), `// run ${n}\n`)
      return ['pack', join(lane, 'my-tool'), '--out', join(lane, 'out'), '--json']
    },
    async inProcess(lane, n) {
      await appendFile(join(lane, 'my-tool/cli.js'), `// run ${n}\n`)
      await pack({source: join(lane, 'my-tool'), out: join(lane, 'out')})
    },
    async isRun(out, n) {
      return (await readFile(join(out, 'node_modules/my-tool/cli.js'), 'utf8')).endsWith(`// run ${n}\n`)
    },
  },
  'assemble-wasm': {
    async setup(lane, bulk) {
      await mkdir(join(lane, 'build'), {recursive: true})
      // --include assets/** needs a match.
      await mkdir(join(lane, 'assets'))
      await writeFile(join(lane, 'assets/readme.txt'), 'x\n')
      if (bulk) await manySmallFiles(join(lane, 'assets'))
      await writeFile(join(lane, 'build/hello.wasm'), await watModule('hello'))
      await writeFile(join(lane, 'build/exit-code.wasm'), await watModule('exit-code'))
    },
    // The version tells the runs' packages apart (package.json and the manifest carry it).
    async args(lane, n) {
      const flags = ['--name', 'kill-cmds', '--version', `1.0.${n + 100}`, '--project', lane]
      return [
        'assemble-wasm',
        join(lane, 'build'),
        ...flags,
        '--out',
        join(lane, 'out'),
        '--include',
        'assets/**',
        '--json',
      ]
    },
    async inProcess(lane, n) {
      const result = await assembleWasm({
        inputs: [join(lane, 'build')],
        name: 'kill-cmds',
        version: `1.0.${n + 100}`,
        project: lane,
        out: join(lane, 'out'),
        include: ['assets/**'],
      })
      expect(result.ok, JSON.stringify(result.problems)).toBe(true)
    },
    async isRun(out, n) {
      const pkg = JSON.parse(await readFile(join(out, 'package.json'), 'utf8')) as {version: string}
      const manifest = JSON.parse(await readFile(join(out, 'agentos-package.json'), 'utf8')) as {
        version: string
      }
      return pkg.version === `1.0.${n + 100}` && manifest.version === pkg.version
    },
  },
}

/** Everything under the lane except our temp siblings, which a kill may leave or the next run remove. */
const stateOf = (lane: string) => snapshotTree(lane, {ignore: isOurs})

function changedPaths(before: Record<string, TreeEntry>, after: Record<string, TreeEntry>): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...paths].filter((p) => JSON.stringify(before[p]) !== JSON.stringify(after[p])).sort()
}

type Outcome = 'untouched' | 'killed-mid-write' | 'replaced'

async function runTrials(name: string, subject: Subject): Promise<Record<Outcome, number>> {
  const random = seededRandom(SEED ^ name.length)
  const lanes = Array.from({length: LANES}, (_, index) => join(work, `${name}-${index}`))
  for (const lane of lanes) await subject.setup(lane)
  // The typical runtime: full runs, one per lane at once as the trials will run. They also leave a
  // package in each lane; lane 0's is removed so trials cover both an absent and an existing target.
  const timings = await Promise.all(
    lanes.map(async (lane, i) => startCli(await subject.args(lane, -1 - i)).ended),
  )
  for (const timing of timings) expect(timing.code, timing.stderr).toBe(0)
  const typical = Math.round(timings.reduce((sum, t) => sum + t.ms, 0) / timings.length)
  await rm(join(lanes[0]!, 'out'), {recursive: true})
  const delays = Array.from({length: TRIALS}, () => Math.floor(random() * typical))
  const outcomes: Record<Outcome, number> = {untouched: 0, 'killed-mid-write': 0, replaced: 0}

  const trial = async (lane: string, n: number) => {
    const args = await subject.args(lane, n)
    const before = await stateOf(lane)
    const running = startCli(args)
    const timer = setTimeout(() => running.child.kill('SIGKILL'), delays[n])
    const ended = await running.ended
    clearTimeout(timer)
    const changed = changedPaths(before, await stateOf(lane))
    const context = `trial ${n} (kill after ${delays[n]} of ~${typical} ms, ended ${ended.code ?? ended.signal}): changed ${changed.slice(0, 5).join(', ')}`
    // Nothing but the target may differ, and nothing may appear next to it but our temp siblings.
    expect(
      changed.every((p) => p === 'out' || p.startsWith('out/')),
      context,
    ).toBe(true)
    const hidden = (await readdir(lane)).filter((entry) => entry.startsWith('.'))
    expect(
      hidden.filter((entry) => !isOurs(entry)),
      context,
    ).toEqual([])
    if (changed.length > 0) {
      // Replaced: the whole new package, valid, never a mix of old and new.
      expect(await subject.isRun(join(lane, 'out'), n), context).toBe(true)
      const report = await validatePackage(join(lane, 'out'))
      expect(report.ok, `${context}\n${JSON.stringify(report.problems, null, 2)}`).toBe(true)
      outcomes.replaced++
    } else {
      outcomes[hidden.length > 0 ? 'killed-mid-write' : 'untouched']++
    }
    if (ended.code === 0) expect(changed.length, context).toBeGreaterThan(0)
  }
  // Each lane runs its trials in order (each is the next run for the one before it); lanes run
  // side by side.
  await Promise.all(
    lanes.map(async (lane, index) => {
      for (let n = index; n < TRIALS; n += LANES) await trial(lane, n)
    }),
  )

  // The next run in each lane leaves a valid package and removes every leftover.
  for (const [index, lane] of lanes.entries()) {
    await subject.inProcess(lane, TRIALS + index)
    expect(await ours(lane)).toEqual([])
    expect(await subject.isRun(join(lane, 'out'), TRIALS + index)).toBe(true)
    expect((await validatePackage(join(lane, 'out'))).ok).toBe(true)
  }
  console.log(`[kill trials] ${name}: ${TRIALS} kills within ~${typical} ms runs →`, outcomes)
  return outcomes
}

describe('SIGKILL at random moments', () => {
  for (const [name, subject] of Object.entries(SUBJECTS)) {
    it(
      `${name}: ${TRIALS} trials leave the target as it was or a complete valid package`,
      {timeout: TRIAL_TIMEOUT},
      async () => {
        const outcomes = await runTrials(name, subject)
        expect(Object.values(outcomes).reduce((a, b) => a + b)).toBe(TRIALS)
      },
    )
  }
})

/** Starts the CLI and sends `signal` the moment its staging dir appears next to the target. */
async function signalWhenStaging(lane: string, args: string[], signal: NodeJS.Signals) {
  const watcher = watch(lane)
  let sent = false
  const running = startCli(args)
  watcher.on('change', (_event, file) => {
    if (!sent && typeof file === 'string' && file.startsWith('.out.agentos-tmp-')) {
      sent = true
      running.child.kill(signal)
    }
  })
  const ended = await running.ended
  watcher.close()
  return {ended, sent}
}

/** A lane holding the sources and an earlier package (run 0), ready for run 1. */
async function laneWithPackage(name: string, subject: Subject): Promise<string> {
  const lane = join(work, name)
  await subject.setup(lane, true)
  await subject.inProcess(lane, 0)
  return lane
}

describe('signals in the middle of writing', () => {
  for (const [command, subject] of Object.entries(SUBJECTS)) {
    it(`${command}: SIGKILL while writing leaves the target as it was and a temp sibling the next run removes`, async () => {
      const lane = await laneWithPackage(`kill-${command}`, subject)
      const args = await subject.args(lane, 1)
      const before = await stateOf(lane)
      const {ended, sent} = await signalWhenStaging(lane, args, 'SIGKILL')
      expect(
        sent && ended.signal === 'SIGKILL',
        `the run ended before it was killed (exit ${ended.code}):\n${ended.stderr}`,
      ).toBe(true)
      expect(await stateOf(lane)).toEqual(before)
      expect(await ours(lane)).toHaveLength(1)
      await subject.inProcess(lane, 2)
      expect(await ours(lane)).toEqual([])
    })
  }

  const handled: Array<[keyof typeof SUBJECTS, NodeJS.Signals, number]> = [
    ['pack', 'SIGINT', 130],
    ['assemble-wasm', 'SIGINT', 130],
    ['pack', 'SIGTERM', 143],
  ]
  for (const [command, signal, status] of handled) {
    it(`${command}: ${signal} while writing removes the temp sibling before exiting ${status}`, async () => {
      const subject = SUBJECTS[command]
      const lane = await laneWithPackage(`${signal}-${command}`, subject)
      const args = await subject.args(lane, 1)
      const before = await stateOf(lane)
      const {ended, sent} = await signalWhenStaging(lane, args, signal)
      expect(sent, `the run ended before the signal (exit ${ended.code}):\n${ended.stderr}`).toBe(true)
      expect(ended.code).toBe(status)
      expect(await stateOf(lane)).toEqual(before)
      // Nothing of ours is left next to the target (and nothing else appeared).
      expect((await readdir(lane)).filter((name) => name.startsWith('.'))).toEqual([])
    })
  }
})

describe('a run killed between the two renames of a commit', () => {
  it('leaves the previous output aside; the next run puts it back before judging the target', async () => {
    // The state such a kill leaves: no target, the previous package set aside, the new one staged.
    const lane = await laneWithPackage('swap', SUBJECTS.pack)
    const out = join(lane, 'out')
    const before = await snapshotTree(out)
    const pid = await deadPid()
    await rename(out, join(lane, `.out.agentos-old-${pid}-0badc0de`))
    await mkdir(join(lane, `.out.agentos-tmp-${pid}-0badf00d`))
    // checkTarget is where every writer starts: afterwards the target is exactly as it was.
    expect(await checkTarget(out)).toBe('package')
    expect(await snapshotTree(out)).toEqual(before)
    expect(await ours(lane)).toEqual([`.out.agentos-tmp-${pid}-0badf00d`])
    await SUBJECTS.pack.inProcess(lane, 1)
    expect(await ours(lane)).toEqual([])
    expect(await SUBJECTS.pack.isRun(out, 1)).toBe(true)
  })
})
