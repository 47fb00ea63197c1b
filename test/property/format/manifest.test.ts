import type {TSchema} from '@sinclair/typebox'
import {Value} from '@sinclair/typebox/value'
import fc from 'fast-check'
import semver from 'semver'
import {describe, expect, it} from 'vitest'
import type {Problem} from '../../../src/errors.js'
import {MAX_JSON_DEPTH, parseJsonDocument} from '../../../src/format/json.js'
import {checkManifest} from '../../../src/format/manifest.js'
import {ManifestSchema} from '../../../src/format/manifest-schema.js'
import {MANIFEST_SHAPE, shapeErrors} from '../../../src/format/manifest-shape.js'
import {isSafeSegment} from '../../../src/format/paths.js'
import {configureFastCheck} from '../../helpers/seed.js'

const RUNS = 2000
configureFastCheck(RUNS, 'test/property/manifest.test.ts')

/** The contract every reported problem keeps, whatever the input. */
function expectWellFormed(problems: readonly Problem[]): void {
  for (const problem of problems) {
    expect(problem.code).toMatch(/^(ERR|WARN|INFO)_AGENTOS_[A-Z0-9_]+$/)
    expect(['error', 'warning', 'info']).toContain(problem.severity)
    expect(problem.message).toMatch(/\S/)
    if (problem.severity !== 'info') expect(problem.hint).toMatch(/\S/)
  }
}

/** A manifest is returned exactly when no problem is an error. */
function expectVerdict(check: ReturnType<typeof checkManifest>): void {
  const errors = check.problems.some((p) => p.severity === 'error')
  expect(check.manifest === undefined).toBe(errors)
}

// Values aimed at the schema: the known keys, each holding anything at all (right or wrong type),
// so the generated inputs reach the per-field checks instead of stopping at "not an object".
const anyValue = fc.oneof(fc.jsonValue({maxDepth: 3}), fc.string(), fc.constant(undefined))
const vmPath = fc.oneof(
  fc.constantFrom(
    '/',
    '/etc/x',
    '/proc/1',
    '/opt/agentos',
    '/opt/agentos/bin/ls',
    '/opt',
    '/etc',
    '/etc/x/y',
  ),
  fc
    .array(fc.constantFrom('etc', 'x', '..', '.', '', 'proc', 'opt', 'agentos'), {maxLength: 5})
    .map((p) => `/${p.join('/')}`),
  fc.string(),
)
const manifestLike = fc.record(
  {
    name: fc.oneof(fc.constantFrom('t', 'bin', '..', '.x', 'a/b', 'x'.repeat(300)), anyValue),
    version: fc.oneof(fc.constantFrom('1.0.0', 'v1', '../1', ''), anyValue),
    $schema: anyValue,
    agent: fc.oneof(
      anyValue,
      fc.record(
        {
          acpEntrypoint: anyValue,
          env: fc.oneof(anyValue, fc.dictionary(fc.string(), anyValue)),
          launchArgs: anyValue,
          snapshot: anyValue,
        },
        {requiredKeys: []},
      ),
    ),
    provides: fc.oneof(
      anyValue,
      fc.record(
        {
          env: fc.oneof(anyValue, fc.dictionary(fc.string(), anyValue)),
          files: fc.oneof(
            anyValue,
            fc.array(
              fc.oneof(
                anyValue,
                fc.record({source: fc.oneof(anyValue, fc.string()), target: vmPath}, {requiredKeys: []}),
              ),
              {
                maxLength: 5,
              },
            ),
          ),
        },
        {requiredKeys: []},
      ),
    ),
  },
  {requiredKeys: []},
)

// Overlay targets the VM owns: procfs, sysfs, devfs and /opt/agentos, and what would cover them;
// and what would cover the directories guests write to (files inside those are fine).
const RESERVED_ROOTS = ['/proc', '/sys', '/dev', '/opt/agentos']
const WRITABLE_DIRS = ['/tmp', '/home/agentos']
const isReserved = (target: string) =>
  target === '/' ||
  RESERVED_ROOTS.some(
    (root) => target === root || target.startsWith(`${root}/`) || root.startsWith(`${target}/`),
  ) ||
  WRITABLE_DIRS.some((dir) => target === dir || dir.startsWith(`${target}/`))

// Otherwise valid manifests whose provides.files targets are normalized absolute paths drawn near
// the reserved trees, so reserved, overlapping and ordinary targets all occur often.
const normalizedTarget = fc
  .array(fc.constantFrom('proc', 'sys', 'dev', 'opt', 'agentos', 'bin', 'etc', 'x', 'usr', 'tmp', 'home'), {
    maxLength: 4,
  })
  .map((parts) => `/${parts.join('/')}`)
const validWithTargets = fc.uniqueArray(normalizedTarget, {minLength: 1, maxLength: 4}).map((targets) => ({
  name: 't',
  version: '1.0.0',
  provides: {files: targets.map((target) => ({source: 'etc/x', target}))},
}))

describe('checkManifest on generated input', () => {
  it('never throws on arbitrary JSON and reports well-formed problems', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const check = checkManifest(value)
        expectWellFormed(check.problems)
        expectVerdict(check)
      }),
    )
  })

  it('never throws on arbitrary JavaScript values (what a caller of the API may pass)', () => {
    fc.assert(
      fc.property(fc.anything({withNullPrototype: true, withMap: true, withSet: true}), (value) => {
        expectVerdict(checkManifest(value))
      }),
    )
  })

  it('refuses every reserved or overlapping overlay target, and nothing else', () => {
    fc.assert(
      fc.property(validWithTargets, (manifest) => {
        const codes = checkManifest(manifest).problems.map((p) => p.code)
        const targets = manifest.provides.files.map((f) => f.target)
        const reserved = targets.filter(isReserved)
        const nested = targets.filter(
          (t) => !isReserved(t) && targets.some((o) => !isReserved(o) && t.startsWith(`${o}/`)),
        )
        expect(codes.filter((c) => c === 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED')).toHaveLength(
          reserved.length,
        )
        expect(codes.filter((c) => c === 'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP')).toHaveLength(nested.length)
        expect(codes.filter((c) => c.startsWith('ERR_'))).toHaveLength(reserved.length + nested.length)
      }),
    )
  })

  it('never throws on manifest-shaped values with every field of any type', () => {
    fc.assert(
      fc.property(manifestLike, (value) => {
        const check = checkManifest(value)
        expectWellFormed(check.problems)
        expectVerdict(check)
        // An accepted manifest never overlays a path the VM owns or one inside another.
        const files = (check.manifest?.provides?.files ?? []).map((f) => f.target)
        for (const target of files) {
          expect(target).not.toMatch(/^\/(proc|sys|dev|opt\/agentos)(\/|$)/)
          expect(['/', '/opt', '/tmp', '/home', '/home/agentos']).not.toContain(target)
          expect(files.filter((other) => other.startsWith(`${target}/`))).toEqual([])
        }
      }),
    )
  })
})

/** TypeBox's errors in the form of shapeErrors: what the schema's users get. */
function typeboxErrors(value: unknown) {
  const expectation = (schema: TSchema) => {
    if (schema.type === 'string') return schema.minLength ? 'a non-empty string' : 'a string'
    if (schema.type === 'boolean') return 'true or false'
    if (schema.type === 'array') return 'an array'
    if (schema.type === 'object') return schema.patternProperties ? 'an object of strings' : 'an object'
    return 'of another type'
  }
  return [...Value.Errors(ManifestSchema, value)].map((error) => ({
    pointer: error.path,
    value: error.value,
    expected: expectation(error.schema),
  }))
}

describe('the check walks the schema as TypeBox does', () => {
  // checkManifest does not load TypeBox (run's startup could not afford it): its walker must find
  // the same errors, at the same places, in the same order, as Value.Errors on ManifestSchema.
  const agree = (value: unknown) => {
    const ours = [...shapeErrors(MANIFEST_SHAPE, value)]
    expect(ours).toEqual(typeboxErrors(value))
    expect(ours.length === 0).toBe(Value.Check(ManifestSchema, value))
  }

  it('on manifest-shaped values with every field of any type', () => {
    fc.assert(fc.property(manifestLike, agree))
  })

  it('on arbitrary JSON and JavaScript values', () => {
    fc.assert(fc.property(fc.jsonValue(), agree), {numRuns: RUNS / 2})
    fc.assert(
      fc.property(
        fc.anything({withNullPrototype: true, withMap: true, withSet: true, withDate: true}),
        agree,
      ),
      {numRuns: RUNS / 2},
    )
  })

  it('on objects TypeBox does not take for maps', () => {
    for (const env of [new Date(0), new Uint8Array([1]), new Map([['A', 'b']]), Object.create(null)])
      agree({name: 'x', agent: {acpEntrypoint: 'a', env}, provides: {env}})
  })

  it('on maps whose keys a "^(.*)$" pattern does not match (line breaks)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('A\nB', '\r', 'X\u2028', 'OK'))
    const map = fc.dictionary(key, fc.oneof(fc.string(), fc.integer()), {maxKeys: 4})
    fc.assert(
      fc.property(map, map, (env, agentEnv) =>
        agree({name: 'x', agent: {acpEntrypoint: 'a', env: agentEnv}, provides: {env}}),
      ),
      {numRuns: RUNS / 2},
    )
  })
})

describe('the version check without semver', () => {
  // The same verdict as `!semver.valid(v)` plus a leading "v", "=" or whitespace or a trailing one,
  // which semver.valid forgives.
  const part = fc.constantFrom(
    '0',
    '1',
    '01',
    '12',
    '9007199254740991',
    '9007199254740992',
    '.',
    '.',
    '.',
    '-',
    '+',
    'a',
    'rc',
    'x',
    'v',
    '=',
    ' ',
    '\t',
    '1.2.3',
  )
  // major.minor.patch[-pre][+build], each part right or slightly wrong.
  const number = fc.constantFrom('0', '1', '01', '12', '9007199254740991', '9007199254740992', '', 'a')
  const identifier = fc.constantFrom('', '0', '01', '1', 'a', 'rc', '-', 'a-1', '1a', '9007199254740992', 'é')
  const identifiers = fc.array(identifier, {minLength: 1, maxLength: 3}).map((ids) => ids.join('.'))
  const structured = fc
    .tuple(
      fc.array(number, {minLength: 1, maxLength: 4}),
      fc.option(identifiers, {nil: undefined}),
      fc.option(identifiers, {nil: undefined}),
    )
    .map(
      ([main, pre, build]) =>
        `${main.join('.')}${pre === undefined ? '' : `-${pre}`}${build === undefined ? '' : `+${build}`}`,
    )
  const known = fc.constantFrom(
    '1.0.0-01',
    '1.0.0-0.01',
    '1.0.0-',
    '1.0.0+',
    '1.0.0+a.',
    '1.0.0-a..b',
    '1.0.0+01',
    '1.0.0-9007199254740992',
    '9007199254740992.0.0',
    '01.0.0',
  )
  const version = fc.oneof(
    known,
    structured,
    fc.string(),
    fc.array(part, {maxLength: 12}).map((parts) => parts.join('')),
    fc.constantFrom(`1.0.0-${'a'.repeat(249)}`, `1.0.0+${'a'.repeat(249)}`, `1.0.0-${'1'.repeat(249)}`),
  )

  it('warns exactly about the versions semver does not call strict', () => {
    fc.assert(
      fc.property(version, (v) => {
        fc.pre(v !== '' && isSafeSegment(v))
        const warned = checkManifest({name: 'x', version: v}).problems.some(
          (p) => p.code === 'WARN_AGENTOS_MANIFEST_VERSION_SEMVER',
        )
        expect(warned).toBe(!semver.valid(v) || /^[v=\s]/.test(v) || /\s$/.test(v))
      }),
    )
  })
})

/** Nesting depth of a parsed JSON value (a scalar is 0). */
function depth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + Math.max(0, ...children.map(depth))
}

describe('parseJsonDocument on generated text', () => {
  it('never throws on arbitrary text, and never accepts text that JSON.parse rejects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({unit: 'binary'}), fc.json()), (text) => {
        const parsed = parseJsonDocument(text, 'x.json')
        expectWellFormed(parsed.problems)
        let valid = true
        try {
          JSON.parse(text)
        } catch {
          valid = false
        }
        if (!valid) expect(parsed.ok).toBe(false)
      }),
      {numRuns: RUNS / 2},
    )
  })

  it('refuses exactly the documents nested deeper than the runtime reads, at any depth', () => {
    // Chains of 0–2000 arrays and objects (the depth drawn first: fast-check's default sizes would
    // never get past ~10 levels), with JSON text noise ("[{", "k}") inside strings.
    const nested = fc
      .integer({min: 0, max: 2000})
      .chain((levels) =>
        fc.tuple(fc.array(fc.boolean(), {minLength: levels, maxLength: levels}), fc.jsonValue({maxDepth: 2})),
      )
      .map(([kinds, leaf]) =>
        kinds.reduceRight<unknown>((inner, isArray) => (isArray ? [inner, '[{'] : {'k}': inner}), leaf),
      )
    fc.assert(
      fc.property(nested, (value) => {
        const text = JSON.stringify(value)
        const parsed = parseJsonDocument(text, 'x.json')
        const tooDeep = depth(value) > MAX_JSON_DEPTH
        expect(parsed.ok).toBe(!tooDeep)
        if (tooDeep) expect(parsed.problems.map((p) => p.code)).toEqual(['ERR_AGENTOS_JSON_TOO_DEEP'])
      }),
      {numRuns: RUNS / 4},
    )
  })
})
