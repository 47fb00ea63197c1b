import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, open, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {WASI} from 'node:wasi'
import {describe, expect, it} from 'vitest'
import {validatePackage} from '../../../src/package/validate.js'
import {
  applyStep,
  type Expected,
  prepareFixture,
  REPO_ROOT,
  type Step,
  WAT_DIR,
} from '../../helpers/fixtures.js'
import {watFileToWasm} from '../../helpers/wasm.js'

const CORPUS = join(REPO_ROOT, 'fixtures', 'validate')

const caseNames = readdirSync(CORPUS, {withFileTypes: true})
  .filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'expected.json')))
  .map((d) => d.name)
  .sort()

const expectations = new Map<string, Expected>(
  caseNames.map((name) => [
    name,
    JSON.parse(readFileSync(join(CORPUS, name, 'expected.json'), 'utf8')) as Expected,
  ]),
)

const distinctSorted = (codes: Iterable<string>) => [...new Set(codes)].sort()

/** A case is broken unless its name says `good-`. */
const isBroken = (name: string) => !name.startsWith('good-')

describe('validate fixture corpus', () => {
  for (const name of caseNames) {
    const expected = expectations.get(name)!
    const run = expected.knownBug ? it.fails : it
    const title = `${name}: ${expected.description}${expected.knownBug ? ` [known bug: ${expected.knownBug}]` : ''}`
    run(title, async () => {
      const caseDir = join(CORPUS, name)
      const actualFile = join(caseDir, 'actual.json')
      const fixture = await prepareFixture(caseDir)
      try {
        const report = await validatePackage(fixture.dir, {strict: fixture.expected.strict ?? false})
        const codes = distinctSorted(report.problems.filter((p) => p.severity !== 'info').map((p) => p.code))
        const infos = distinctSorted(report.problems.filter((p) => p.severity === 'info').map((p) => p.code))
        const actual = {
          ok: report.ok,
          codes,
          ...(fixture.expected.infos ? {infos} : {}),
        }
        const wanted = {
          ok: fixture.expected.ok,
          codes: distinctSorted(fixture.expected.codes),
          ...(fixture.expected.infos ? {infos: distinctSorted(fixture.expected.infos)} : {}),
        }
        const malformed = report.problems.filter(
          (p) =>
            typeof p.code !== 'string' ||
            !/^(ERR|WARN|INFO)_AGENTOS_[A-Z0-9_]+$/.test(p.code) ||
            !['error', 'warning', 'info'].includes(p.severity) ||
            typeof p.message !== 'string' ||
            p.message === '' ||
            (p.severity !== 'info' && (typeof p.hint !== 'string' || p.hint === '')),
        )
        const matches = JSON.stringify(actual) === JSON.stringify(wanted) && malformed.length === 0
        if (matches) {
          await rm(actualFile, {force: true})
        } else {
          await writeFile(actualFile, `${JSON.stringify({...actual, problems: report.problems}, null, 2)}\n`)
        }
        expect(actual).toEqual(wanted)
        expect(malformed).toEqual([])
      } finally {
        await fixture.cleanup()
      }
    })
  }

  it('covers at least 30 broken cases and 25 distinct codes', () => {
    const broken = caseNames.filter(isBroken)
    expect(broken.length).toBeGreaterThanOrEqual(30)
    const covered = new Set<string>()
    for (const expected of expectations.values()) {
      for (const code of [...expected.codes, ...(expected.infos ?? [])]) covered.add(code)
    }
    expect(covered.size).toBeGreaterThanOrEqual(25)
    // Good cases are clean; broken ones report something (an error, warning or info).
    for (const name of caseNames) {
      const expected = expectations.get(name)!
      if (isBroken(name)) {
        expect(expected.codes.length + (expected.infos?.length ?? 0), name).toBeGreaterThan(0)
      } else {
        expect({name, ok: expected.ok, codes: expected.codes}).toEqual({name, ok: true, codes: []})
      }
    }
  })
})

describe('fixture helpers', () => {
  it('refuses prepare steps that leave the package', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentos-steps-'))
    try {
      for (const path of ['../x', 'a/../../x', '/etc/passwd', 'a/../b', '..']) {
        await expect(applyStep(dir, {op: 'write', path, text: 'x'} as Step)).rejects.toThrow(
          /inside the package/,
        )
      }
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  /** Runs a WAT fixture under node:wasi with stdout captured to a file. */
  async function runWat(file: string): Promise<{exit: number; stdout: string}> {
    const dir = await mkdtemp(join(tmpdir(), 'agentos-wasi-'))
    const out = join(dir, 'stdout')
    const handle = await open(out, 'w')
    try {
      const wasi = new WASI({
        version: 'preview1',
        args: [file],
        env: {},
        stdout: handle.fd,
        returnOnExit: true,
      })
      const module = await WebAssembly.compile(await watFileToWasm(join(WAT_DIR, file)))
      const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports)
      const exit = wasi.start(instance)
      await handle.close()
      return {exit, stdout: await readFile(out, 'utf8')}
    } finally {
      await handle.close().catch(() => {})
      await rm(dir, {recursive: true, force: true})
    }
  }

  it('assembles WASI preview1 commands that run under node:wasi', async () => {
    expect(await runWat('hello.wat')).toEqual({exit: 0, stdout: 'hello\n'})
    expect(await runWat('exit-code.wat')).toEqual({exit: 3, stdout: ''})
  })

  it('assembles the reactor: _initialize and memory, no _start', async () => {
    const module = await WebAssembly.compile(await watFileToWasm(join(WAT_DIR, 'reactor.wat')))
    const exports = WebAssembly.Module.exports(module).map((e) => e.name)
    expect(exports).toContain('_initialize')
    expect(exports).toContain('memory')
    expect(exports).not.toContain('_start')
  })
})
