import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {commandNameIssue, normalizeBin} from '../../../src/format/bin-map.js'
import {normalizePackagePath} from '../../../src/format/paths.js'
import {configureFastCheck} from '../../helpers/seed.js'

const RUNS = 1500
configureFastCheck(RUNS, 'test/property/bin-map.test.ts')

// Names that can be commands, and entry paths inside the package in many spellings of the same path.
const name = fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,20}$/)
const segment = fc.stringMatching(/^[a-z0-9_][a-z0-9._-]{0,8}$/).filter((s) => s !== '..' && s !== '.')
const entry = fc.array(segment, {minLength: 1, maxLength: 4}).map((parts) => parts.join('/'))
const spelled = (path: string) =>
  fc.constantFrom(
    path,
    `./${path}`,
    path.replace(/\//g, '//'),
    `${path.split('/')[0]}/./${path.split('/').slice(1).join('/')}`,
  )
const binObject = fc.dictionary(name, entry, {maxKeys: 8})

describe('normalizeBin', () => {
  it('round-trips: the map rebuilt from its commands normalizes to the same commands', () => {
    fc.assert(
      fc.property(binObject, (bin) => {
        const first = normalizeBin({name: 'pkg', version: '1.0.0', bin})
        expect(first.problems.filter((p) => p.severity === 'error')).toEqual([])
        const rebuilt = Object.fromEntries(first.commands.map((c) => [c.name, c.entry]))
        const second = normalizeBin({name: 'pkg', version: '1.0.0', bin: rebuilt})
        expect(second.commands).toEqual(first.commands)
        expect(first.commands.map((c) => c.name).sort()).toEqual(Object.keys(bin).sort())
      }),
    )
  })

  it('gives the same commands whatever spelling the entry paths use', () => {
    const spelledBin = binObject.chain((bin) =>
      fc
        .tuple(...Object.values(bin).map(spelled))
        .map(
          (variants) => [bin, Object.fromEntries(Object.keys(bin).map((k, i) => [k, variants[i]!]))] as const,
        ),
    )
    fc.assert(
      fc.property(spelledBin, ([plain, variant]) => {
        expect(normalizeBin({name: 'pkg', bin: variant}).commands).toEqual(
          normalizeBin({name: 'pkg', bin: plain}).commands,
        )
      }),
    )
  })

  it('never throws, and only ever yields linkable names and entries inside the package', () => {
    const anyBin = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())),
      fc.string(),
    )
    fc.assert(
      fc.property(anyBin, fc.oneof(fc.string(), fc.constant(undefined)), (bin, pkgName) => {
        const result = normalizeBin({name: pkgName, bin}, ['x', '.hidden'])
        const names = result.commands.map((c) => c.name)
        expect(new Set(names).size).toBe(names.length)
        for (const command of result.commands) {
          expect(commandNameIssue(command.name)).toBeNull()
          expect(command.name).not.toMatch(/^[._]/)
          expect(normalizePackagePath(command.entry)).toEqual({path: command.entry})
        }
      }),
    )
  })
})
