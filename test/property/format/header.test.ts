import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {detectHeader, HEADER_BYTES, PE_PROBE_BYTES} from '../../../src/format/header.js'
import {configureFastCheck} from '../../helpers/seed.js'

const RUNS = 2000
configureFastCheck(RUNS, 'test/property/header.test.ts')

// The magic numbers the runtime dispatches on, as a table (hex of the first bytes → kind).
const MAGIC: Array<[string, string]> = [
  ['2321', 'shebang'],
  ['0061736d', 'wasm'],
  ['7f454c46', 'elf'],
  ['feedface', 'macho'],
  ['cefaedfe', 'macho'],
  ['feedfacf', 'macho'],
  ['cffaedfe', 'macho'],
  ['cafebabe', 'macho'],
  ['bebafeca', 'macho'],
  ['cafebabf', 'macho'],
  ['bfbafeca', 'macho'],
]

/** What the table says the bytes are, written without looking at detectHeader. */
function referenceKind(bytes: Buffer): {kind: string; layer?: string} {
  const hex = bytes.toString('hex')
  if (hex.startsWith('efbbbf2321')) return {kind: 'unknown'}
  for (const [magic, kind] of MAGIC) {
    if (!hex.startsWith(magic)) continue
    if (kind === 'wasm') {
      const version = hex.slice(8, 16)
      return {kind, layer: version === '01000000' ? 'core' : version === '0d000100' ? 'component' : 'unknown'}
    }
    // A Java class file also starts cafebabe; its next word (the class version) is >= 45.
    if (magic === 'cafebabe' && bytes.length >= 8 && bytes.readUInt32BE(4) >= 45) return {kind: 'unknown'}
    return {kind}
  }
  if (hex.startsWith('4d5a') && bytes.length >= 0x40) {
    const offset = bytes.readUInt32LE(0x3c)
    if (
      offset >= 0x40 &&
      offset + 4 <= bytes.length &&
      hex.slice(offset * 2, offset * 2 + 8) === '50450000'
    ) {
      return {kind: 'pe'}
    }
  }
  return {kind: 'unknown'}
}

// Random bytes, often starting with (part of) a magic number, plus PE images with the signature at
// a random offset: plain random bytes would almost never reach the interesting branches.
const magicPrefixed = fc
  .tuple(
    fc.constantFrom(
      ...MAGIC.map(([hex]) => hex),
      'efbbbf2321',
      '4d5a',
      '0061736d01000000',
      '0061736d0d000100',
      '',
    ),
    fc.integer({min: 0, max: 8}),
    fc.uint8Array({maxLength: HEADER_BYTES}),
  )
  .map(([hex, cut, tail]) => Buffer.concat([Buffer.from(hex, 'hex').subarray(0, cut), tail]))
const peImage = fc
  .tuple(
    fc.integer({min: 0, max: PE_PROBE_BYTES}),
    fc.integer({min: 0x40, max: PE_PROBE_BYTES + 8}),
    fc.boolean(),
  )
  .map(([length, offset, signed]) => {
    const bytes = Buffer.alloc(Math.max(length, 0x40))
    bytes.write('MZ', 0, 'latin1')
    bytes.writeUInt32LE(offset, 0x3c)
    if (signed && offset + 4 <= bytes.length) bytes.write('PE\0\0', offset, 'latin1')
    return bytes
  })
// 0xcafebabe followed by a small word (a fat Mach-O's architecture count) or a large one (a Java
// class version): random bytes would almost never land near that boundary.
const cafebabe = fc
  .tuple(fc.oneof(fc.integer({min: 0, max: 100}), fc.nat()), fc.uint8Array({maxLength: 16}))
  .map(([word, tail]) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(0xcafebabe, 0)
    head.writeUInt32BE(word, 4)
    return Buffer.concat([head, tail])
  })
const anyBytes = fc.oneof(
  fc.uint8Array({maxLength: 600}).map((b) => Buffer.from(b)),
  magicPrefixed,
  peImage,
  cafebabe,
)

describe('detectHeader on random bytes', () => {
  it('never throws and agrees with the magic table', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const info = detectHeader(bytes)
        const expected = referenceKind(bytes)
        expect(info.kind).toBe(expected.kind)
        if (expected.layer) expect(info.wasmLayer).toBe(expected.layer)
        if (info.kind === 'shebang') expect(typeof info.shebang?.interpreter).toBe('string')
      }),
    )
  })

  it('judges only the header: bytes past the probe window never change the verdict', () => {
    fc.assert(
      fc.property(anyBytes, fc.uint8Array({minLength: 1, maxLength: 64}), (bytes, extra) => {
        const window = Buffer.concat([bytes, Buffer.alloc(PE_PROBE_BYTES)]).subarray(0, PE_PROBE_BYTES)
        const longer = Buffer.concat([window, extra])
        expect(detectHeader(longer).kind).toBe(detectHeader(window).kind)
      }),
    )
  })
})
