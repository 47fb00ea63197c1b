import {describe, expect, it} from 'vitest'
import {
  type BinMap,
  commandNameIssue,
  describeType,
  normalizeBin,
  unscopedName,
} from '../../../src/format/bin-map.js'

const codes = (map: BinMap) => map.problems.map((p) => p.code)

describe('unscopedName', () => {
  it('drops the scope', () => {
    expect(unscopedName('@scope/tool')).toBe('tool')
    expect(unscopedName('tool')).toBe('tool')
    expect(unscopedName('@scope/')).toBe('')
  })
})

describe('commandNameIssue', () => {
  it('accepts plain and hidden names', () => {
    for (const name of ['tool', 'my-tool', 'a.b', '_stubs', '.hidden', 'UPPER', 'a b', 'a\\b']) {
      expect(commandNameIssue(name)).toBeNull()
    }
  })

  it('refuses names that cannot be a file in /opt/agentos/bin', () => {
    expect(commandNameIssue('')).toBe('is empty')
    expect(commandNameIssue('.')).toBe('is "."')
    expect(commandNameIssue('..')).toBe('is ".."')
    expect(commandNameIssue('a/b')).toBe('contains "/"')
    expect(commandNameIssue('a\0b')).toBe('contains a NUL byte')
    expect(commandNameIssue('a\nb')).toBe('contains a control character')
    expect(commandNameIssue('a\u007fb')).toBe('contains a control character')
  })
})

describe('describeType', () => {
  it('names JSON types', () => {
    expect(describeType(null)).toBe('null')
    expect(describeType([])).toBe('an array')
    expect(describeType({})).toBe('an object')
    expect(describeType(undefined)).toBe('missing')
    expect(describeType(1)).toBe('a number')
    expect(describeType('x')).toBe('a string')
    expect(describeType(true)).toBe('a boolean')
  })
})

describe('normalizeBin: string form', () => {
  it('names the command after the package name', () => {
    expect(normalizeBin({name: 'my-tool', bin: 'cli.js'})).toEqual({
      commands: [{name: 'my-tool', entry: 'cli.js'}],
      source: 'bin-string',
      problems: [],
    })
  })

  it('uses the unscoped part of a scoped name', () => {
    expect(normalizeBin({name: '@scope/my-tool', bin: './dist/cli.js'})).toEqual({
      commands: [{name: 'my-tool', entry: 'dist/cli.js'}],
      source: 'bin-string',
      problems: [],
    })
  })

  it('reports a string bin without a usable name as an error', () => {
    for (const pkg of [{bin: 'cli.js'}, {name: '', bin: 'cli.js'}, {name: 42, bin: 'cli.js'}]) {
      const map = normalizeBin(pkg)
      expect(map.commands).toEqual([])
      expect(map.source).toBe('bin-string')
      expect(map.problems).toHaveLength(1)
      expect(map.problems[0]).toMatchObject({
        code: 'ERR_AGENTOS_BIN_NAME_INVALID',
        severity: 'error',
        path: 'package.json#bin',
      })
    }
  })

  // Regression (fixed): runtime §2.1 says "if `name` is not a string the map is considered absent", and a missing
  // map falls back to the top-level files of bin/. normalizeBin claims to project "the way the
  // agentOS runtime projects it", but returns no commands and ignores binDirEntries here.
  it('projects the bin/ fallback, as the runtime does, when a string bin has no name', () => {
    const map = normalizeBin({bin: 'cli.js'}, ['tool'])
    expect(map.commands).toEqual([{name: 'tool', entry: 'bin/tool'}])
  })

  it('reports a scoped name with nothing after the slash as an invalid command name', () => {
    const map = normalizeBin({name: '@scope/', bin: 'cli.js'})
    expect(map.commands).toEqual([])
    expect(codes(map)).toEqual(['ERR_AGENTOS_BIN_NAME_INVALID'])
  })

  it('treats a hidden unscoped name as hidden', () => {
    const map = normalizeBin({name: '@scope/_internal', bin: 'cli.js'})
    expect(map.commands).toEqual([])
    expect(codes(map)).toEqual(['INFO_AGENTOS_BIN_HIDDEN'])
  })
})

describe('normalizeBin: object form', () => {
  it('maps every name to its normalized entry', () => {
    const map = normalizeBin({
      name: 'pkg',
      bin: {tool: 'node_modules/tool/cli.js', jq: './bin/jq', other: 'a//b/../c'},
    })
    expect(map).toEqual({
      commands: [
        {name: 'jq', entry: 'bin/jq'},
        {name: 'other', entry: 'a/c'},
        {name: 'tool', entry: 'node_modules/tool/cli.js'},
      ],
      source: 'bin-object',
      problems: [],
    })
  })

  it('ignores the package name for the object form', () => {
    expect(normalizeBin({bin: {x: 'x.js'}}).commands).toEqual([{name: 'x', entry: 'x.js'}])
  })

  it('strips one leading "./"; a second one is removed by normalization and yields the same file', () => {
    // The runtime strips exactly one "./" and uses "./x" verbatim, which resolves to the same file as
    // "x"; normalizing it is therefore sane.
    expect(normalizeBin({bin: {a: '././x'}}).commands).toEqual([{name: 'a', entry: 'x'}])
    expect(normalizeBin({bin: {a: './x'}}).commands).toEqual([{name: 'a', entry: 'x'}])
    expect(normalizeBin({bin: {a: 'x'}}).commands).toEqual([{name: 'a', entry: 'x'}])
  })

  it('sorts commands by name', () => {
    const map = normalizeBin({bin: {b: 'b', a: 'a', C: 'C', _z: 'z', '-x': 'x', 'a-b': 'ab', aa: 'aa'}})
    expect(map.commands.map((c) => c.name)).toEqual(['-x', 'C', 'a', 'a-b', 'aa', 'b'])
  })

  // Regression (fixed): the runtime sorts by name in byte order (of UTF-8); normalizeBin compares JS strings, which
  // is UTF-16 code-unit order. The two disagree for names mixing astral characters (surrogates
  // D800-DBFF) and BMP characters >= U+E000: UTF-8 puts U+FF01 (EF BC 81) before U+1F600 (F0 9F ..),
  // UTF-16 puts U+1F600 (D83D ..) first. src/format/byte-order.ts has compareBytes for exactly this.
  it('sorts names in UTF-8 byte order', () => {
    const map = normalizeBin({bin: {'\u{1F600}': 'a', '\uFF01': 'b'}})
    expect(map.commands.map((c) => c.name)).toEqual(['\uFF01', '\u{1F600}'])
  })

  it.each(['_stubs', '_', '.hidden', '.bin'])(
    'reports hidden name %j as info and does not link it',
    (name) => {
      const map = normalizeBin({bin: {[name]: 'bin/x', tool: 'bin/tool'}})
      expect(map.commands).toEqual([{name: 'tool', entry: 'bin/tool'}])
      expect(map.problems).toHaveLength(1)
      expect(map.problems[0]).toMatchObject({
        code: 'INFO_AGENTOS_BIN_HIDDEN',
        severity: 'info',
        path: `package.json#bin.${name}`,
      })
    },
  )

  it('does not check the entry of a hidden name', () => {
    const map = normalizeBin({bin: {_x: '../../etc/passwd'}})
    expect(codes(map)).toEqual(['INFO_AGENTOS_BIN_HIDDEN'])
  })

  it.each([
    ['', 'is empty'],
    ['.', 'is "."'],
    ['..', 'is ".."'],
    ['a/b', 'contains "/"'],
    ['a\0b', 'contains a NUL byte'],
    ['a\nb', 'contains a control character'],
    ['a\tb', 'contains a control character'],
    ['\u007f', 'contains a control character'],
  ])('refuses command name %j', (name, issue) => {
    const map = normalizeBin({bin: {[name]: 'x', ok: 'ok'}})
    expect(map.commands).toEqual([{name: 'ok', entry: 'ok'}])
    expect(map.problems).toHaveLength(1)
    expect(map.problems[0]).toMatchObject({
      code: 'ERR_AGENTOS_BIN_NAME_INVALID',
      severity: 'error',
      path: `package.json#bin[${JSON.stringify(name)}]`,
    })
    expect(map.problems[0]!.message).toContain(issue)
    expect(map.problems[0]!.hint).toBeTruthy()
  })

  it.each([1, null, true, ['x'], {path: 'x'}])('warns about non-string value %j and skips it', (value) => {
    const map = normalizeBin({bin: {bad: value, ok: 'ok.js'}})
    expect(map.commands).toEqual([{name: 'ok', entry: 'ok.js'}])
    expect(map.problems).toEqual([
      expect.objectContaining({
        code: 'WARN_AGENTOS_BIN_ENTRY_TYPE',
        severity: 'warning',
        path: 'package.json#bin.bad',
      }),
    ])
  })

  it.each([
    ['../x', 'escapes'],
    ['./../x', 'escapes'],
    ['a/../../x', 'escapes'],
    ['/usr/bin/node', 'absolute'],
    ['bin\\x', 'backslash'],
    ['bin/x\n', 'control-char'],
  ])('refuses entry %j (%s) with ERR_AGENTOS_BIN_ENTRY_ESCAPES', (entry, issue) => {
    const map = normalizeBin({bin: {tool: entry}})
    expect(map.commands).toEqual([])
    expect(map.problems).toHaveLength(1)
    expect(map.problems[0]).toMatchObject({
      code: 'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
      severity: 'error',
      path: 'package.json#bin.tool',
    })
    expect(map.problems[0]!.message).toContain(`(${issue})`)
  })

  it.each(['', '.', './', 'a/..'])('refuses empty entry %j with ERR_AGENTOS_BIN_ENTRY_MISSING', (entry) => {
    const map = normalizeBin({bin: {tool: entry}})
    expect(map.commands).toEqual([])
    expect(codes(map)).toEqual(['ERR_AGENTOS_BIN_ENTRY_MISSING'])
  })

  it('reports every problem, not just the first', () => {
    const map = normalizeBin({bin: {'': 'x', a: '../x', b: 1, _c: 'c', d: '', ok: 'ok'}})
    expect(map.commands).toEqual([{name: 'ok', entry: 'ok'}])
    expect(codes(map).sort()).toEqual(
      [
        'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
        'ERR_AGENTOS_BIN_ENTRY_MISSING',
        'ERR_AGENTOS_BIN_NAME_INVALID',
        'INFO_AGENTOS_BIN_HIDDEN',
        'WARN_AGENTOS_BIN_ENTRY_TYPE',
      ].sort(),
    )
  })

  it('gives an explicit empty object zero commands and no bin/ fallback', () => {
    expect(normalizeBin({bin: {}}, ['tool'])).toEqual({commands: [], source: 'bin-object', problems: []})
  })

  it('is stable under a round trip through an object', () => {
    const maps = [
      {tool: './bin/tool', 'z-cmd': 'node_modules/z/cli.js', a: 'a//b/./c', m: '././m'},
      {'@weird': 'x', UPPER: 'dist/../dist/u.js'},
      {one: 'bin/one'},
      {},
    ]
    for (const bin of maps) {
      const first = normalizeBin({bin})
      expect(first.problems).toEqual([])
      const rebuilt = Object.fromEntries(first.commands.map((c) => [c.name, c.entry]))
      const second = normalizeBin({bin: rebuilt})
      expect(second.commands).toEqual(first.commands)
      expect(second.problems).toEqual([])
      // and the reversed insertion order gives the same sorted result
      const reversed = Object.fromEntries([...first.commands].reverse().map((c) => [c.name, c.entry]))
      expect(normalizeBin({bin: reversed}).commands).toEqual(first.commands)
    }
  })
})

describe('normalizeBin: bin/ fallback and bad types', () => {
  it('falls back to bin/ entries when there is no bin key, with a warning', () => {
    const map = normalizeBin({name: 'pkg'}, ['tool-b', 'tool-a'])
    expect(map).toEqual({
      commands: [
        {name: 'tool-a', entry: 'bin/tool-a'},
        {name: 'tool-b', entry: 'bin/tool-b'},
      ],
      source: 'bin-dir',
      problems: [
        expect.objectContaining({
          code: 'WARN_AGENTOS_BIN_MAP_MISSING',
          severity: 'warning',
          path: 'package.json#bin',
        }),
      ],
    })
  })

  it('skips hidden names in the bin/ fallback', () => {
    const map = normalizeBin({}, ['_stubs', '.keep', 'tool'])
    expect(map.commands).toEqual([{name: 'tool', entry: 'bin/tool'}])
    expect(codes(map).sort()).toEqual([
      'INFO_AGENTOS_BIN_HIDDEN',
      'INFO_AGENTOS_BIN_HIDDEN',
      'WARN_AGENTOS_BIN_MAP_MISSING',
    ])
  })

  it('falls back for a missing or non-object package.json', () => {
    for (const pkg of [undefined, null, 'text', 42, []]) {
      const map = normalizeBin(pkg, ['tool'])
      expect(map.source).toBe('bin-dir')
      expect(map.commands).toEqual([{name: 'tool', entry: 'bin/tool'}])
    }
  })

  it('has no commands and no problems without bin and without bin/ entries', () => {
    expect(normalizeBin({name: 'x'})).toEqual({commands: [], source: 'none', problems: []})
    expect(normalizeBin({name: 'x'}, [])).toEqual({commands: [], source: 'none', problems: []})
  })

  it.each([[['a']], [42], [true], [null]])(
    'refuses bin %j with ERR_AGENTOS_BIN_TYPE and no fallback',
    (bin) => {
      const map = normalizeBin({name: 'x', bin}, ['tool'])
      expect(map.commands).toEqual([])
      expect(map.source).toBe('none')
      expect(map.problems).toEqual([
        expect.objectContaining({code: 'ERR_AGENTOS_BIN_TYPE', severity: 'error', path: 'package.json#bin'}),
      ])
      expect(map.problems[0]!.message).toContain(describeType(bin))
    },
  )

  it('does not mutate its input', () => {
    const pkg = {name: 'x', bin: {b: './b', a: './a'}}
    const copy = structuredClone(pkg)
    const dir = ['z', 'y']
    normalizeBin(pkg, dir)
    expect(pkg).toEqual(copy)
    expect(dir).toEqual(['z', 'y'])
  })
})
