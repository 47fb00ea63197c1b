/**
 * Two `pack` runs into the same target at the same time: the target ends up holding one complete,
 * valid package (the last committed), and neither run leaves anything behind. Processes run
 * against dist/ (`npm run build` first).
 */
import {existsSync} from 'node:fs'
import {appendFile, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {commitStaging, createStaging} from '../../src/output/staging.js'
import {pack} from '../../src/pack/pack.js'
import {validatePackage} from '../../src/package/validate.js'
import {startCli} from '../helpers/cli.js'
import {makeProject} from '../helpers/project.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-concurrent-'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

const SIBLING = /^\.out\.agentos-(tmp|old)-/

/** Two projects that pack to different packages: cli.js ends with its marker. */
async function twoProjects(dir: string): Promise<Record<'a' | 'b', string>> {
  const projects = {a: await makeProject(join(dir, 'a')), b: await makeProject(join(dir, 'b'))}
  for (const [marker, project] of Object.entries(projects)) {
    await appendFile(join(project, 'cli.js'), `// project ${marker}\n`)
  }
  return projects
}

async function markerOf(out: string): Promise<string | undefined> {
  const cli = await readFile(join(out, 'node_modules/my-tool/cli.js'), 'utf8')
  return /\/\/ project (a|b)\n$/.exec(cli)?.[1]
}

describe('two pack runs into one target at once', () => {
  it('leave one complete valid package, into an absent and into an existing target', async () => {
    for (const round of [0, 1]) {
      const dir = join(work, `round-${round}`)
      const projects = await twoProjects(dir)
      const out = join(dir, 'out')
      // Round 1 replaces an existing package, so the commit's set-aside step races too.
      if (round > 0) await pack({source: projects.a, out})
      const runs = await Promise.all(
        [projects.a, projects.b].map((project) => startCli(['pack', project, '--out', out, '--json']).ended),
      )
      // Both succeed: a commit that finds the other run's package in place sets it aside like any
      // earlier output, so the last one to commit wins.
      for (const run of runs) expect(run.code, run.stdout + run.stderr).toBe(0)
      expect(['a', 'b']).toContain(await markerOf(out))
      const report = await validatePackage(out)
      expect(report.ok, JSON.stringify(report.problems)).toBe(true)
      expect((await readdir(dir)).filter((name) => SIBLING.test(name))).toEqual([])
    }
  })

  it('in one process: a second staging leaves the first alone, and two racing commits both land', async () => {
    const dir = join(work, 'in-process')
    const target = join(dir, 'out')
    const first = await createStaging(target)
    await writeFile(join(first.dir, 'who'), 'first')
    // Staging dirs carry the pid, and a run once removed every sibling of its own pid as left over
    // from a dead run: this call deleted the live one above.
    const second = await createStaging(target)
    expect(existsSync(join(first.dir, 'who'))).toBe(true)
    await writeFile(join(second.dir, 'who'), 'second')
    // Both find no target, then both rename into it: the loser once failed with ENOTEMPTY.
    await Promise.all([commitStaging(first), commitStaging(second)])
    expect(['first', 'second']).toContain(await readFile(join(target, 'who'), 'utf8'))
    expect((await readdir(dir)).filter((name) => SIBLING.test(name))).toEqual([])
  })
})
