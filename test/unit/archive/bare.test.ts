import {describe, expect, it} from 'vitest'
import {BareDecoder, BareEncoder} from '../../../src/archive/bare.js'

const decoder = (bytes: Buffer | number[]) => new BareDecoder(Buffer.from(bytes), 'test chunk')
const encoded = (write: (e: BareEncoder) => void) => {
  const e = new BareEncoder()
  write(e)
  return e.bytes()
}

describe('BARE uvarint', () => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16_383, 'ff7f'],
    [16_384, '808001'],
    [2 ** 32 - 1, 'ffffffff0f'],
    [2 ** 32, '8080808010'],
    [2 ** 32 + 1, '8180808010'],
    [2 ** 40 + 5, '858080808020'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ]
  it.each(cases)('encodes and decodes %s', (value, hex) => {
    const bytes = encoded((e) => e.uvarint(value))
    expect(bytes.toString('hex')).toBe(hex)
    const d = decoder(bytes)
    expect(d.uvarint()).toBe(Number(value))
    expect(() => d.end()).not.toThrow()
  })

  it('keeps values past 2^32 exact (no 32-bit bit arithmetic)', () => {
    for (const value of [2 ** 33 + 7, 2 ** 45 - 1, 2 ** 52 + 3]) {
      expect(decoder(encoded((e) => e.uvarint(value))).uvarint()).toBe(value)
    }
  })

  it('refuses 2^53 and beyond as an overflow', () => {
    for (const value of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
      expect(() => decoder(encoded((e) => e.uvarint(value))).uvarint()).toThrow(
        expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_OVERFLOW'}),
      )
    }
  })

  it('refuses truncated, overlong and non-minimal encodings', () => {
    expect(() => decoder([0x80]).uvarint()).toThrow(
      expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_DECODE'}),
    )
    expect(() => decoder([0x80, 0x00]).uvarint()).toThrow(/not minimally encoded/)
    expect(() => decoder([0x81, 0x80, 0x00]).uvarint()).toThrow(/not minimally encoded/)
    expect(() => decoder(Array(11).fill(0x80)).uvarint()).toThrow(/longer than 10 bytes|larger than 2\^53/)
  })
})

describe('BARE fixed-width integers', () => {
  it('reads u16/u32/u64/i64 little-endian', () => {
    const bytes = encoded((e) =>
      e
        .u16(0x0102)
        .u32(0xdeadbeef)
        .u64(2 ** 40)
        .i64(-5),
    )
    expect(bytes.subarray(0, 2).toString('hex')).toBe('0201')
    const d = decoder(bytes)
    expect([d.u16(), d.u32(), d.u64(), d.i64()]).toEqual([0x0102, 0xdeadbeef, 2 ** 40, -5])
    d.end()
  })

  it('refuses a u64 past 2^53 as an overflow', () => {
    const d = decoder(encoded((e) => e.u64(2n ** 60n)))
    expect(() => d.u64('offset')).toThrow(expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_OVERFLOW'}))
  })

  it('refuses reading past the end', () => {
    expect(() => decoder([1, 2, 3]).u32()).toThrow(/needs 4 bytes but only 3 are left/)
  })
})

describe('BARE strings, bools, optionals, lists', () => {
  it('round-trips UTF-8 strings, including empty and multi-byte ones', () => {
    for (const text of ['', 'grep', 'héllo wörld ✓', '𝄞'.repeat(40), 'x'.repeat(300)]) {
      const d = decoder(encoded((e) => e.str(text)))
      expect(d.str()).toBe(text)
      d.end()
    }
  })

  it('refuses a string longer than the bytes left, and invalid UTF-8', () => {
    expect(() => decoder([5, 0x61, 0x62]).str()).toThrow(/needs 5 bytes/)
    expect(() => decoder([2, 0xc3, 0x28]).str()).toThrow(/not valid UTF-8/)
  })

  it('reads bool and optional tags strictly (only 0 or 1)', () => {
    expect(decoder([1]).bool()).toBe(true)
    expect(decoder([0]).bool()).toBe(false)
    expect(() => decoder([2]).bool()).toThrow(/is 2, not 0 or 1/)
    expect(decoder([0]).optional(() => 'x')).toBeUndefined()
    const d = decoder(encoded((e) => e.optional('v', (v) => e.str(v))))
    expect(d.optional(() => d.str())).toBe('v')
    expect(() => decoder([7, 0]).optional(() => 'x')).toThrow(
      expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_DECODE'}),
    )
  })

  it('round-trips lists and refuses counts beyond the bytes left before allocating', () => {
    const d = decoder(encoded((e) => e.list(['a', 'bc'], (s) => e.str(s))))
    expect(d.list(() => d.str())).toEqual(['a', 'bc'])
    // A count of 2^40 with no items behind it.
    const huge = encoded((e) => e.uvarint(2 ** 40))
    expect(() => decoder(huge).list(() => 0)).toThrow(/exceeds the 0 bytes left/)
  })

  it('caps a list at a given count with its own code', () => {
    const bytes = encoded((e) => e.uvarint(200_001))
    expect(() =>
      decoder(bytes).list(() => 0, 'tarEntries', {
        count: 200_000,
        code: 'ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES',
      }),
    ).toThrow(expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES'}))
  })

  it('checks enum ordinals', () => {
    expect(decoder([2]).enumeration(3)).toBe(2)
    expect(() => decoder([3]).enumeration(3, 'entry kind')).toThrow(/entry kind 3 is not a known value/)
  })
})

describe('BARE maps', () => {
  it('round-trips a string map in the order written', () => {
    const d = decoder(
      encoded((e) =>
        e.stringMap([
          ['B', '2'],
          ['A', '1'],
        ]),
      ),
    )
    const map = d.stringMap()
    expect(map).toEqual({A: '1', B: '2'})
    expect(Object.keys(map)).toEqual(['B', 'A'])
  })

  it('refuses a repeated key', () => {
    const bytes = encoded((e) =>
      e.stringMap([
        ['PATH', '/a'],
        ['PATH', '/b'],
      ]),
    )
    expect(() => decoder(bytes).stringMap('agent.env')).toThrow(
      expect.objectContaining({
        code: 'ERR_AGENTOS_AOSPKG_DUPLICATE_KEY',
        message: expect.stringContaining('agent.env repeats the key "PATH"'),
      }),
    )
  })

  it('keeps keys such as __proto__ as plain data', () => {
    const d = decoder(encoded((e) => e.stringMap([['__proto__', 'x']])))
    const map = d.stringMap()
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype)
    expect(Object.keys(map)).toEqual(['__proto__'])
  })
})

describe('BARE chunk end', () => {
  it('refuses trailing bytes after the root value', () => {
    const d = decoder([1, 0x61, 0xff])
    d.str()
    expect(() => d.end()).toThrow(expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_TRAILING_BYTES'}))
  })
})
