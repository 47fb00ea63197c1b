import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {compareBytes} from '../../../src/format/byte-order.js'
import {configureFastCheck} from '../../helpers/seed.js'

const RUNS = 5000
configureFastCheck(RUNS, 'test/property/compare-bytes.test.ts')

// Well-formed strings from the ranges where UTF-16 and UTF-8 orders part: ASCII, the BMP below and
// above the surrogates, and code points beyond U+FFFF (surrogate pairs in UTF-16).
const char = fc.oneof(
  fc.integer({min: 0x20, max: 0x7e}),
  fc.integer({min: 0x80, max: 0xd7ff}),
  fc.integer({min: 0xe000, max: 0xffff}),
  fc.integer({min: 0x10000, max: 0x10ffff}),
)
const text = fc.array(char, {maxLength: 6}).map((points) => String.fromCodePoint(...points))
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0)

describe('compareBytes', () => {
  it('orders like a comparison of the UTF-8 encodings', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(sign(compareBytes(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)))
      }),
    )
  })

  it('orders a shared prefix before its extensions, and equal strings as equal', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(compareBytes(a, a + b)).toBe(b === '' ? 0 : -1)
        expect(compareBytes(a + b, a)).toBe(b === '' ? 0 : 1)
      }),
    )
  })

  it('puts U+FF01 before U+1F600, as UTF-8 does and UTF-16 does not', () => {
    expect(compareBytes('\uFF01', '\u{1F600}')).toBe(-1)
    expect(compareBytes('\u{1F600}', '\uFF01')).toBe(1)
    expect(compareBytes('a\u{1F600}', 'a\uD7FF')).toBe(1)
  })
})
