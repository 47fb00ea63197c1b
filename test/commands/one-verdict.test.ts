// One verdict (issue 17): `validate --json`, `inspect --json`, `pack --json` and `assemble-wasm
// --json` report the same problems for the same package — the same codes, the same counts — over
// every fixture of fixtures/validate where the command applies. And `run` refuses a package with
// a special file (which git cannot hold as a fixture: built here) with an error validate reports.
import {existsSync, readdirSync} from 'node:fs'
import {cp, mkdir, mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SPECIAL_INPUTS} from '../bad-inputs/cases-special.js'
import {runInProcess} from '../helpers/cli.js'
import {prepareFixture, REPO_ROOT} from '../helpers/fixtures.js'

const CORPUS = join(REPO_ROOT, 'fixtures', 'validate')
const cases = readdirSync(CORPUS, {withFileTypes: true})
  .filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'expected.json')))
  .map((d) => d.name)
  .sort()

interface Problem {
  code: string
  severity: 'error' | 'warning' | 'info'
}
/** The parts of the four --json documents compared here. */
interface Doc {
  problems: Problem[]
  summary: Counts
  validation: {problems: Problem[]; summary: Counts}
  code?: string
  error?: {code?: string}
}
interface Counts {
  errors: number
  warnings: number
  infos: number
}

/** The verdict as comparable data: each code with how often it was reported, and the counts. */
function verdict(problems: readonly Problem[], summary: Counts) {
  const codes: Record<string, number> = {}
  for (const p of problems) codes[p.code] = (codes[p.code] ?? 0) + 1
  return {
    codes: Object.fromEntries(Object.entries(codes).sort(([a], [b]) => (a < b ? -1 : 1))),
    counts: {errors: summary.errors, warnings: summary.warnings, infos: summary.infos},
  }
}

async function json(args: string[]): Promise<{exitCode: number; doc: Doc}> {
  const result = await runInProcess([...args, '--json'])
  return {exitCode: result.exitCode, doc: JSON.parse(result.stdout) as Doc}
}

/** What `validate` and `inspect` say about `target`, each as a {@link verdict}; they must agree. */
async function validateAndInspect(target: string) {
  const validate = (await json(['validate', target, '--verbose'])).doc
  const inspect = await json(['inspect', target])
  const fromValidate = verdict(validate.problems, validate.summary)
  if (inspect.exitCode === 0) {
    const {problems, summary} = inspect.doc.validation
    expect(verdict(problems, summary), `inspect ${target}`).toEqual(fromValidate)
  }
  return fromValidate
}

/**
 * A pack source made from a fixture whose commands all live in `node_modules/<pkg>/`: that package
 * as the project, the other packages of node_modules as its installed dependencies, and the
 * fixture's agentos-package.json. Undefined when the fixture is not shaped so.
 */
async function packSource(fixtureDir: string, work: string): Promise<string | undefined> {
  let pkg: {bin?: unknown}
  try {
    pkg = JSON.parse(await readFile(join(fixtureDir, 'package.json'), 'utf8')) as {bin?: unknown}
  } catch {
    return undefined
  }
  const entries = typeof pkg.bin === 'object' && pkg.bin ? Object.values(pkg.bin) : []
  const owners = new Set(entries.map((e) => /^node_modules\/([^@/][^/]*)\//.exec(String(e))?.[1]))
  const [owner] = owners
  if (owners.size !== 1 || !owner || !existsSync(join(fixtureDir, 'node_modules', owner, 'package.json')))
    return undefined
  const project = join(work, 'source', owner)
  await cp(join(fixtureDir, 'node_modules', owner), project, {recursive: true, verbatimSymlinks: true})
  await mkdir(join(project, 'node_modules'), {recursive: true})
  for (const dep of readdirSync(join(fixtureDir, 'node_modules'))) {
    if (dep === owner || dep.startsWith('.')) continue
    await cp(join(fixtureDir, 'node_modules', dep), join(project, 'node_modules', dep), {
      recursive: true,
      verbatimSymlinks: true,
    })
  }
  const manifest = join(fixtureDir, 'agentos-package.json')
  if (existsSync(manifest)) await cp(manifest, join(project, 'agentos-package.json'))
  return project
}

const isWasm = (expected: {prepare?: Array<{op: string; path?: string}>}) =>
  (expected.prepare ?? []).some((s) => s.op === 'wat' && s.path?.startsWith('bin/'))

describe('one verdict: validate, inspect, pack and assemble-wasm agree', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'agentos-one-verdict-'))
  })
  afterAll(() => rm(work, {recursive: true, force: true}))

  for (const name of cases) {
    it(name, async () => {
      const fixture = await prepareFixture(join(CORPUS, name))
      const caseWork = join(work, name)
      try {
        await validateAndInspect(fixture.dir)

        if (isWasm(fixture.expected)) {
          const checked = join(caseWork, 'checked')
          await cp(fixture.dir, checked, {recursive: true, verbatimSymlinks: true})
          const before = await validateAndInspect(checked)
          const assembled = await json(['assemble-wasm', '--check', checked, '--verbose'])
          const {problems, summary} = assembled.doc
          expect(verdict(problems, summary), 'assemble-wasm --check').toEqual(before)
        }

        const source = await packSource(fixture.dir, caseWork)
        if (source) {
          const out = join(caseWork, 'packed')
          const packed = await json(['pack', source, '--out', out])
          if (packed.exitCode === 0) {
            const {problems, summary} = packed.doc.validation
            expect(verdict(problems, summary), 'pack').toEqual(await validateAndInspect(out))
          } else {
            // Refused: pack names the errors validate would report on what it would have written.
            expect(packed.doc.code ?? packed.doc.error?.code, JSON.stringify(packed.doc)).toMatch(/^ERR_/)
          }
        }
      } finally {
        await fixture.cleanup()
        await rm(caseWork, {recursive: true, force: true})
      }
    })
  }
})

describe('one verdict: validate and run agree on special files', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'agentos-one-verdict-special-'))
  })
  afterAll(() => rm(work, {recursive: true, force: true}))

  for (const input of SPECIAL_INPUTS) {
    it(input.slug, async (context) => {
      const dir = join(work, input.slug)
      await mkdir(dir)
      const pkg = await input.build(dir)
      if (typeof pkg !== 'string') return context.skip(pkg.skip)
      const validate = await json(['validate', pkg])
      const errors = validate.doc.problems.filter((p) => p.severity === 'error').map((p) => p.code)
      const run = await runInProcess(['run', pkg, '--json', '--', 't'])
      const refused = JSON.parse(run.stdout) as Doc
      expect(validate.exitCode).toBe(1)
      expect(run.exitCode, run.stdout).toBe(125)
      expect(errors).toContain(refused.error?.code)
      // No mode or header is judged on a FIFO, socket or device: the special file is the problem.
      expect(errors).not.toContain('ERR_AGENTOS_BIN_NOT_EXECUTABLE')
      expect(errors).not.toContain('ERR_AGENTOS_BIN_UNKNOWN_HEADER')
    })
  }
})
