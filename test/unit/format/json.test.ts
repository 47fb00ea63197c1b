import {describe, expect, it} from 'vitest'
import {parseJsonDocument, parseJsonLenient} from '../../../src/format/json.js'

describe('parseJsonDocument', () => {
  it('parses valid JSON without problems', () => {
    expect(parseJsonDocument('{"name": "x", "bin": {"a": "b"}, "list": [1, 2]}', 'package.json')).toEqual({
      ok: true,
      value: {name: 'x', bin: {a: 'b'}, list: [1, 2]},
      problems: [],
    })
  })

  it('parses scalars and arrays at the top level', () => {
    expect(parseJsonDocument('42', 'f.json')).toEqual({ok: true, value: 42, problems: []})
    expect(parseJsonDocument('[]', 'f.json')).toEqual({ok: true, value: [], problems: []})
    expect(parseJsonDocument('null', 'f.json')).toEqual({ok: true, value: null, problems: []})
  })

  it('accepts CRLF line endings and trailing whitespace', () => {
    expect(parseJsonDocument('{\r\n  "a": 1\r\n}\r\n', 'f.json')).toEqual({
      ok: true,
      value: {a: 1},
      problems: [],
    })
  })

  it('reports a trailing comma with 1-based line and column of the offending token', () => {
    const result = parseJsonDocument('{\n  "a": 1,\n}', 'package.json')
    expect(result.ok).toBe(false)
    expect(result.problems).toHaveLength(1)
    const [problem] = result.problems
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_JSON_SYNTAX',
      severity: 'error',
      path: 'package.json:3:1',
    })
    expect(problem!.message).toContain('line 3, column 1')
    expect(problem!.message).toContain('package.json is not valid JSON')
    expect(problem!.hint).toBeTruthy()
  })

  it('locates errors on the first line and mid-line', () => {
    // missing value: the "}" at offset 5 is column 6
    expect(parseJsonDocument('{"a":}', 'f.json').problems[0]!.path).toBe('f.json:1:6')
    // a comment on line 2, column 3
    expect(parseJsonDocument('{\n  // c\n  "a": 1\n}', 'f.json').problems[0]!.path).toBe('f.json:2:3')
    // unquoted key on line 2 column 3
    expect(parseJsonDocument('{\n  a: 1\n}', 'f.json').problems[0]!.path).toBe('f.json:2:3')
    // single quote at offset 9: line 1 column 10
    expect(parseJsonDocument('{"a": 1, \'b\': 2}', 'f.json').problems[0]!.path).toBe('f.json:1:10')
  })

  it('counts columns after a CRLF line break from 1', () => {
    expect(parseJsonDocument('{\r\n  "a": 1,\r\n}', 'f.json').problems[0]!.path).toBe('f.json:3:1')
  })

  it('reports empty and whitespace-only text as a syntax error', () => {
    expect(parseJsonDocument('', 'f.json')).toMatchObject({
      ok: false,
      problems: [{code: 'ERR_AGENTOS_JSON_SYNTAX', path: 'f.json:1:1'}],
    })
    const ws = parseJsonDocument('  \n  ', 'f.json')
    expect(ws.ok).toBe(false)
    expect(ws.problems[0]!.code).toBe('ERR_AGENTOS_JSON_SYNTAX')
    expect(ws.problems[0]!.path).toMatch(/^f\.json:2:\d+$/)
  })

  it('reports truncated documents', () => {
    const result = parseJsonDocument('{"a": [1, 2', 'f.json')
    expect(result.ok).toBe(false)
    expect(result.problems[0]!.code).toBe('ERR_AGENTOS_JSON_SYNTAX')
    expect(result.problems[0]!.path).toMatch(/^f\.json:1:\d+$/)
  })

  it('reports content after the value', () => {
    const result = parseJsonDocument('{}\n{}', 'f.json')
    expect(result.ok).toBe(false)
    expect(result.problems[0]!.path).toBe('f.json:2:1')
  })

  it('reports a raw control character inside a string', () => {
    const result = parseJsonDocument('{"a": "x\ty"}', 'f.json')
    expect(result.ok).toBe(false)
    expect(result.problems[0]!.code).toBe('ERR_AGENTOS_JSON_SYNTAX')
  })

  it('refuses a byte order mark', () => {
    expect(parseJsonDocument('\ufeff{"a": 1}', 'agentos-package.json')).toEqual({
      ok: false,
      problems: [
        expect.objectContaining({
          code: 'ERR_AGENTOS_JSON_BOM',
          severity: 'error',
          path: 'agentos-package.json',
        }),
      ],
    })
  })

  it('warns about a duplicate key with its line and pointer', () => {
    const result = parseJsonDocument('{\n  "name": "a",\n  "name": "b"\n}', 'package.json')
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.value).toEqual({name: 'b'})
    expect(result.problems).toHaveLength(1)
    const [problem] = result.problems
    expect(problem).toMatchObject({
      code: 'WARN_AGENTOS_JSON_DUPLICATE_KEY',
      severity: 'warning',
      path: 'package.json#name',
    })
    expect(problem!.message).toContain('"name"')
    expect(problem!.message).toContain('line 3')
  })

  it('reports duplicates in nested objects with a dotted pointer, and each repeat', () => {
    const text = '{\n "bin": {\n  "a": "x",\n  "a": "y",\n  "a": "z"\n },\n "list": [{"k": 1, "k": 2}]\n}'
    const result = parseJsonDocument(text, 'package.json')
    expect(result.ok).toBe(true)
    expect(result.problems.map((p) => [p.path, p.message.match(/line (\d+)/)![1]])).toEqual([
      ['package.json#bin.a', '4'],
      ['package.json#bin.a', '5'],
      ['package.json#list.0.k', '7'],
    ])
  })

  it('does not confuse equal keys in sibling or nested objects with duplicates', () => {
    const text = '{"a": {"x": 1}, "b": {"x": 2}, "x": {"x": {"x": 3}}, "arr": [{"x": 1}, {"x": 2}]}'
    expect(parseJsonDocument(text, 'f.json')).toMatchObject({ok: true, problems: []})
  })
})

describe('parseJsonLenient', () => {
  it('parses valid JSON', () => {
    expect(parseJsonLenient('{"a": [1]}')).toEqual({a: [1]})
  })

  it('tolerates a BOM', () => {
    expect(parseJsonLenient('\ufeff{"name": "dep"}')).toEqual({name: 'dep'})
  })

  it('returns undefined for invalid JSON', () => {
    expect(parseJsonLenient('{"a": 1,}')).toBeUndefined()
    expect(parseJsonLenient('')).toBeUndefined()
    expect(parseJsonLenient('\ufeff')).toBeUndefined()
  })
})
