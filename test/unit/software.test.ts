import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AgentosError, isAgentosError} from '../../src/errors.js'
import {defineSoftware, flattenSoftware, type Software} from '../../src/software.js'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const example = join(repoRoot, 'fixtures', 'examples', 'my-tool-package')

let scratch: string
let emptyDir: string
let manifestOnly: string
let packageJsonOnly: string
let plainFile: string

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'agentos-software-'))
  emptyDir = join(scratch, 'empty')
  manifestOnly = join(scratch, 'manifest-only')
  packageJsonOnly = join(scratch, 'package-json-only')
  plainFile = join(scratch, 'file.txt')
  mkdirSync(emptyDir)
  mkdirSync(join(emptyDir, 'bin'))
  writeFileSync(join(emptyDir, 'bin', 'tool'), '#!/bin/sh\n')
  mkdirSync(manifestOnly)
  writeFileSync(join(manifestOnly, 'agentos-package.json'), '{"name":"m"}')
  mkdirSync(packageJsonOnly)
  writeFileSync(join(packageJsonOnly, 'package.json'), '{"name":"p"}')
  writeFileSync(plainFile, 'x')
})

afterAll(() => {
  rmSync(scratch, {recursive: true, force: true})
})

/** A descriptor as defineSoftware returns it: the path under both runtime generations' names. */
const both = (path: string) => ({packagePath: path, packageDir: path})

/** Runs fn, collecting the process warnings it emits as "code: message". */
function withWarnings<T>(fn: () => T): {value: T; warnings: string[]} {
  const warnings: string[] = []
  const original = process.emitWarning
  process.emitWarning = ((message: string, options?: {code?: string}) => {
    warnings.push(`${options?.code}: ${message}`)
  }) as typeof process.emitWarning
  try {
    return {value: fn(), warnings}
  } finally {
    process.emitWarning = original
  }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(isAgentosError(error)).toBe(true)
    expect(error).toBeInstanceOf(AgentosError)
    return (error as AgentosError).code
  }
  throw new Error('expected a throw')
}

describe('defineSoftware', () => {
  it('refuses a relative packageDir', () => {
    expect(codeOf(() => defineSoftware({packageDir: 'fixtures/examples/my-tool-package'}))).toBe(
      'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
    )
    expect(codeOf(() => defineSoftware({packageDir: './my-tool-package'}))).toBe(
      'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
    )
  })

  it('names the path and gives a hint on failure', () => {
    try {
      defineSoftware({packageDir: 'rel'})
      expect.unreachable()
    } catch (error) {
      const e = error as AgentosError
      expect(e.path).toBe('rel')
      expect(e.hint).toBeTruthy()
      expect(e.message).toContain('rel')
    }
  })

  it('refuses a directory that does not exist', () => {
    expect(codeOf(() => defineSoftware({packageDir: join(scratch, 'missing')}))).toBe(
      'ERR_AGENTOS_SOFTWARE_DIR_NOT_FOUND',
    )
  })

  it('refuses a file instead of a directory', () => {
    expect(codeOf(() => defineSoftware({packageDir: plainFile}))).toBe('ERR_AGENTOS_SOFTWARE_DIR_NOT_FOUND')
  })

  it('refuses a directory with neither package.json nor agentos-package.json', () => {
    expect(codeOf(() => defineSoftware({packageDir: emptyDir}))).toBe('ERR_AGENTOS_SOFTWARE_NOT_PACKAGE')
  })

  it('refuses a missing, empty or non-string packageDir', () => {
    for (const bad of [{}, {packageDir: ''}, {packageDir: 42}, null, undefined]) {
      expect(codeOf(() => defineSoftware(bad as unknown as {packageDir: string}))).toBe(
        'ERR_AGENTOS_SOFTWARE_INVALID',
      )
    }
  })

  it('returns a frozen descriptor holding the path under both names, packagePath and packageDir', () => {
    const software = defineSoftware({packageDir: example, extra: 1} as {packageDir: string})
    expect(software).toEqual(both(example))
    expect(defineSoftware({packagePath: example})).toEqual(both(example))
    expect(defineSoftware({packagePath: example, packageDir: example})).toEqual(both(example))
    expect(Object.isFrozen(software)).toBe(true)
    expect(() => {
      ;(software as {packageDir: string}).packageDir = '/elsewhere'
    }).toThrow(TypeError)
  })

  it('accepts a directory with only one of the two descriptor files', () => {
    expect(defineSoftware({packageDir: manifestOnly})).toEqual(both(manifestOnly))
    expect(withWarnings(() => defineSoftware({packageDir: packageJsonOnly}))).toMatchObject({
      value: both(packageJsonOnly),
      warnings: [expect.stringContaining('WARN_AGENTOS_SOFTWARE_SOURCE_ROOT')],
    })
  })

  it('warns about a source root, and refuses one with strict', () => {
    const root = join(scratch, 'source-root')
    mkdirSync(join(root, 'src'), {recursive: true})
    writeFileSync(join(root, 'agentos-package.json'), '{"name":"s"}')
    writeFileSync(join(root, 'tsconfig.json'), '{}')
    const {warnings} = withWarnings(() => defineSoftware({packagePath: root}))
    expect(warnings).toEqual([
      expect.stringMatching(/^WARN_AGENTOS_SOFTWARE_SOURCE_ROOT: .*src, tsconfig\.json/),
    ])
    expect(codeOf(() => defineSoftware({packagePath: root}, {strict: true}))).toBe(
      'ERR_AGENTOS_SOFTWARE_SOURCE_ROOT',
    )
    expect(withWarnings(() => defineSoftware({packagePath: manifestOnly})).warnings).toEqual([])
  })

  it('accepts an .aospkg file as packagePath, and refuses different packagePath and packageDir', () => {
    const archive = join(scratch, 'x.aospkg')
    writeFileSync(archive, 'AOSPKG')
    expect(defineSoftware({packagePath: archive})).toEqual(both(archive))
    expect(codeOf(() => defineSoftware({packagePath: example, packageDir: manifestOnly} as never))).toBe(
      'ERR_AGENTOS_SOFTWARE_INVALID',
    )
  })

  it('normalizes the packageDir', () => {
    expect(defineSoftware({packageDir: `${scratch}/empty/../manifest-only`})).toEqual(both(manifestOnly))
    expect(defineSoftware({packageDir: `${scratch}//./manifest-only`})).toEqual(both(manifestOnly))
  })

  it('accepts arrays (meta-packages), nested, and freezes them', () => {
    const meta = defineSoftware([{packageDir: example}, [{packageDir: manifestOnly}, []], []])
    expect(meta).toEqual([both(example), [both(manifestOnly), []], []])
    expect(Object.isFrozen(meta)).toBe(true)
    expect(Object.isFrozen(meta[1])).toBe(true)
    expect(Object.isFrozen(meta[0])).toBe(true)
    expect(defineSoftware([])).toEqual([])
  })

  it('accepts already-defined entries inside an array', () => {
    const tool = defineSoftware({packageDir: example})
    expect(defineSoftware([tool, tool])).toEqual([tool, tool])
  })

  it('checks every entry of an array, nested ones too', () => {
    expect(codeOf(() => defineSoftware([{packageDir: example}, {packageDir: 'rel'}]))).toBe(
      'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
    )
    expect(codeOf(() => defineSoftware([[{packageDir: example}, [{packageDir: emptyDir}]]]))).toBe(
      'ERR_AGENTOS_SOFTWARE_NOT_PACKAGE',
    )
  })
})

describe('flattenSoftware', () => {
  it('returns a single descriptor as a one-element list', () => {
    const tool = defineSoftware({packageDir: example})
    expect(flattenSoftware(tool)).toEqual([tool])
  })

  it('flattens nested arrays in order', () => {
    const a = defineSoftware({packageDir: example})
    const b = defineSoftware({packageDir: manifestOnly})
    const c = defineSoftware({packageDir: packageJsonOnly})
    expect(flattenSoftware([a, [[b], []], [[[c]]]])).toEqual([a, b, c])
    expect(flattenSoftware([])).toEqual([])
  })

  it('keeps the first of each directory', () => {
    const a = defineSoftware({packageDir: example})
    const b = defineSoftware({packageDir: manifestOnly})
    const a2 = {packageDir: example}
    const result = flattenSoftware([a, [b, a2], [[a]]])
    expect(result).toEqual([a, b])
    expect(flattenSoftware([a2])).toEqual([both(example)])
    expect(result[0]).toBe(a)
  })

  it('treats equivalent spellings of a directory as the same', () => {
    const a = {packageDir: manifestOnly}
    const dotted = {packageDir: `${scratch}/./empty/../manifest-only`}
    const doubled = {packageDir: `${scratch}//manifest-only`}
    expect(flattenSoftware([a, dotted, doubled])).toEqual([both(manifestOnly)])
  })

  // Regression (fixed): flattenSoftware keeps "the first of each directory" (JSDoc) using path.normalize as the key,
  // but normalize keeps a trailing separator, so "/x/pkg/" and "/x/pkg" count as two directories and
  // the same package is mounted twice (defineSoftware also keeps the trailing "/" in packageDir).
  it('treats "dir/" and "dir" as the same directory', () => {
    const a = defineSoftware({packageDir: manifestOnly})
    const slashed = defineSoftware({packageDir: `${manifestOnly}/`})
    expect(flattenSoftware([a, slashed])).toEqual([a])
  })

  it('does not mutate its input', () => {
    const list: Software[] = [{packageDir: example}, [{packageDir: example}]]
    const copy = structuredClone(list)
    flattenSoftware(list)
    expect(list).toEqual(copy)
  })
})
