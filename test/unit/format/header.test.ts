import {describe, expect, it} from 'vitest'
import {
  describeKind,
  detectHeader,
  HEADER_BYTES,
  isNativeKind,
  PE_PROBE_BYTES,
  parseShebangLine,
} from '../../../src/format/header.js'

const bytes = (...values: number[]) => Uint8Array.from(values)
const text = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

/** An `MZ` file of `size` bytes whose e_lfanew (u32 LE at 0x3c) is `lfanew`, with `PE\0\0` at `peAt` (null: nowhere). */
function mz(size: number, lfanew: number, peAt: number | null = lfanew): Uint8Array {
  const b = new Uint8Array(size)
  b[0] = 0x4d
  b[1] = 0x5a
  b[0x3c] = lfanew & 0xff
  b[0x3d] = (lfanew >>> 8) & 0xff
  b[0x3e] = (lfanew >>> 16) & 0xff
  b[0x3f] = (lfanew >>> 24) & 0xff
  if (peAt !== null && peAt + 4 <= size) b.set([0x50, 0x45, 0, 0], peAt)
  return b
}

describe('constants', () => {
  it('reads the runtime header buffer size and a larger PE probe', () => {
    expect(HEADER_BYTES).toBe(256)
    expect(PE_PROBE_BYTES).toBeGreaterThan(HEADER_BYTES)
  })
})

describe('detectHeader: shebang', () => {
  it('detects "#!" and parses the line', () => {
    const info = detectHeader(text('#!/usr/bin/env node\nconsole.log(1)\n'))
    expect(info).toEqual({
      kind: 'shebang',
      shebang: {interpreter: '/usr/bin/env', argument: 'node', truncated: false},
    })
  })

  it('detects a bare "#!" (two bytes) as a shebang with an empty interpreter', () => {
    expect(detectHeader(text('#!'))).toEqual({kind: 'shebang', shebang: {interpreter: '', truncated: false}})
  })

  it('does not treat a single "#" or "#" + other byte as a shebang', () => {
    expect(detectHeader(text('#')).kind).toBe('unknown')
    expect(detectHeader(text('# !/bin/sh\n')).kind).toBe('unknown')
  })

  it('only parses the first HEADER_BYTES bytes of a long file', () => {
    const line = `#!/bin/${'x'.repeat(300)}\n`
    const info = detectHeader(text(line))
    expect(info.kind).toBe('shebang')
    expect(info.shebang!.truncated).toBe(true)
    expect(Buffer.byteLength(info.shebang!.interpreter)).toBe(HEADER_BYTES - 2)
  })

  it('sees the newline when it is the last byte of the header buffer', () => {
    const line = `#!/bin/${'x'.repeat(HEADER_BYTES - 8)}\n`
    expect(Buffer.byteLength(line)).toBe(HEADER_BYTES)
    expect(detectHeader(text(`${line}rest`)).shebang!.truncated).toBe(false)
  })

  it('reports a UTF-8 BOM before "#!" as unknown with bomShebang', () => {
    expect(detectHeader(bytes(0xef, 0xbb, 0xbf, 0x23, 0x21, 0x2f))).toEqual({
      kind: 'unknown',
      bomShebang: true,
    })
    expect(detectHeader(text('\ufeff#!/usr/bin/env node\n'))).toEqual({kind: 'unknown', bomShebang: true})
  })

  it('does not set bomShebang for a BOM followed by something else', () => {
    expect(detectHeader(text('\ufeffconsole.log(1)'))).toEqual({kind: 'unknown'})
    expect(detectHeader(bytes(0xef, 0xbb, 0xbf, 0x23))).toEqual({kind: 'unknown'})
  })
})

describe('detectHeader: WebAssembly', () => {
  it('detects a core module', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01))).toEqual({
      kind: 'wasm',
      wasmLayer: 'core',
      wasmVersion: '01000000',
    })
  })

  it('detects a component', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00))).toEqual({
      kind: 'wasm',
      wasmLayer: 'component',
      wasmVersion: '0d000100',
    })
  })

  it('reports other version bytes as an unknown layer', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00))).toEqual({
      kind: 'wasm',
      wasmLayer: 'unknown',
      wasmVersion: '02000000',
    })
  })

  it('still classifies a 4-byte "\\0asm" as wasm, with an empty version', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6d))).toEqual({
      kind: 'wasm',
      wasmLayer: 'unknown',
      wasmVersion: '',
    })
  })

  it('treats a partial version (5-7 bytes) as unknown and empty', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00))).toEqual({
      kind: 'wasm',
      wasmLayer: 'unknown',
      wasmVersion: '',
    })
  })

  it('needs all four magic bytes', () => {
    expect(detectHeader(bytes(0x00, 0x61, 0x73)).kind).toBe('unknown')
    expect(detectHeader(bytes(0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0)).kind).toBe('unknown')
  })
})

describe('detectHeader: native formats', () => {
  it('detects ELF', () => {
    expect(detectHeader(bytes(0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01))).toEqual({kind: 'elf'})
    expect(detectHeader(bytes(0x7f, 0x45, 0x4c, 0x46))).toEqual({kind: 'elf'})
    expect(detectHeader(bytes(0x7f, 0x45, 0x4c)).kind).toBe('unknown')
  })

  it.each([0xfeedface, 0xcefaedfe, 0xfeedfacf, 0xcffaedfe])('detects thin Mach-O magic %s', (magic) => {
    expect(detectHeader(bytes(...be32(magic), 0x00, 0x00, 0x00, 0x0c))).toEqual({kind: 'macho', fat: false})
    expect(detectHeader(bytes(...be32(magic)))).toEqual({kind: 'macho', fat: false})
  })

  it.each([0xcafebabe, 0xbebafeca, 0xcafebabf, 0xbfbafeca])('detects fat Mach-O magic %s', (magic) => {
    expect(detectHeader(bytes(...be32(magic), 0x00, 0x00, 0x00, 0x02))).toEqual({kind: 'macho', fat: true})
  })

  it('classifies cafebabe + a small architecture count as a fat Mach-O', () => {
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x02))).toEqual({
      kind: 'macho',
      fat: true,
    })
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 44))).toEqual({
      kind: 'macho',
      fat: true,
    })
  })

  it('classifies cafebabe + a class file version (>= 45) as a Java class, i.e. unknown', () => {
    // minor 0, major 52 (Java 8)
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x34))).toEqual({kind: 'unknown'})
    // minor 0, major 45 (JDK 1.1): the boundary
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 45))).toEqual({kind: 'unknown'})
    // minor 3, major 45 (u32 = 0x0003002d)
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe, 0x00, 0x03, 0x00, 0x2d))).toEqual({kind: 'unknown'})
  })

  it('classifies a 4-byte cafebabe (no version word) as a fat Mach-O', () => {
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbe))).toEqual({kind: 'macho', fat: true})
  })

  it('only applies the Java check to cafebabe, not to the other fat magics', () => {
    expect(detectHeader(bytes(0xca, 0xfe, 0xba, 0xbf, 0x00, 0x00, 0x00, 0x34))).toEqual({
      kind: 'macho',
      fat: true,
    })
    expect(detectHeader(bytes(0xbe, 0xba, 0xfe, 0xca, 0x00, 0x00, 0x00, 0x34))).toEqual({
      kind: 'macho',
      fat: true,
    })
  })

  it('detects PE when e_lfanew points at "PE\\0\\0"', () => {
    expect(detectHeader(mz(0x100, 0x80))).toEqual({kind: 'pe'})
    // the smallest accepted offset: right after the DOS header
    expect(detectHeader(mz(0x44, 0x40))).toEqual({kind: 'pe'})
  })

  it('finds a PE signature beyond HEADER_BYTES when given the probe bytes', () => {
    expect(detectHeader(mz(PE_PROBE_BYTES, 0x400))).toEqual({kind: 'pe'})
    // the same file cut to the runtime header size no longer shows the signature
    expect(detectHeader(mz(PE_PROBE_BYTES, 0x400).subarray(0, HEADER_BYTES))).toEqual({kind: 'unknown'})
  })

  it('does not call a text file starting with "MZ" a PE file', () => {
    expect(detectHeader(text('MZ is a nice abbreviation\n'))).toEqual({kind: 'unknown'})
    expect(detectHeader(text(`MZ${'x'.repeat(300)}`))).toEqual({kind: 'unknown'})
    expect(detectHeader(text('MZ'))).toEqual({kind: 'unknown'})
  })

  it('rejects an "MZ" file whose e_lfanew points at something other than "PE\\0\\0"', () => {
    expect(detectHeader(mz(0x100, 0x80, null))).toEqual({kind: 'unknown'})
    const b = mz(0x100, 0x80, null)
    b.set([0x50, 0x45, 0x00, 0x01], 0x80)
    expect(detectHeader(b)).toEqual({kind: 'unknown'})
  })

  it('rejects an e_lfanew beyond the buffer', () => {
    expect(detectHeader(mz(0x100, 0x1000, null))).toEqual({kind: 'unknown'})
    // signature would straddle the end of the buffer
    expect(detectHeader(mz(0x100, 0xfe, null))).toEqual({kind: 'unknown'})
  })

  it('rejects an e_lfanew inside the DOS header or negative as a signed value', () => {
    const inside = mz(0x100, 0x10, null)
    inside.set([0x50, 0x45, 0, 0], 0x10)
    expect(detectHeader(inside)).toEqual({kind: 'unknown'})
    expect(detectHeader(mz(0x100, 0xffffff80, null))).toEqual({kind: 'unknown'})
  })

  it('rejects an "MZ" buffer shorter than the DOS header', () => {
    expect(detectHeader(mz(0x3f, 0x40, null))).toEqual({kind: 'unknown'})
  })
})

describe('detectHeader: unknown', () => {
  it('classifies an empty buffer as unknown', () => {
    expect(detectHeader(new Uint8Array(0))).toEqual({kind: 'unknown'})
  })

  it('classifies a JavaScript file without shebang as unknown', () => {
    expect(detectHeader(text("'use strict'\nconsole.log(1)\n"))).toEqual({kind: 'unknown'})
  })

  it('classifies one or three arbitrary bytes as unknown', () => {
    expect(detectHeader(bytes(0x7f))).toEqual({kind: 'unknown'})
    expect(detectHeader(bytes(0xca, 0xfe, 0xba))).toEqual({kind: 'unknown'})
  })

  it('accepts a Buffer as well as a Uint8Array', () => {
    expect(detectHeader(Buffer.from('#!/bin/sh\n')).kind).toBe('shebang')
  })
})

describe('parseShebangLine', () => {
  it('splits interpreter and one argument', () => {
    expect(parseShebangLine(text('#!/usr/bin/env node\n'))).toEqual({
      interpreter: '/usr/bin/env',
      argument: 'node',
      truncated: false,
    })
  })

  it('skips blanks after "#!"', () => {
    expect(parseShebangLine(text('#! /bin/sh\n'))).toEqual({interpreter: '/bin/sh', truncated: false})
    expect(parseShebangLine(text('#!  \t /bin/sh -e\n'))).toEqual({
      interpreter: '/bin/sh',
      argument: '-e',
      truncated: false,
    })
  })

  it('keeps everything after the interpreter as ONE argument, never split', () => {
    expect(parseShebangLine(text('#!/usr/bin/env node --flag\n'))).toEqual({
      interpreter: '/usr/bin/env',
      argument: 'node --flag',
      truncated: false,
    })
    // inner blanks are kept verbatim
    expect(parseShebangLine(text('#!/usr/bin/env -S node  --a\t--b\n')).argument).toBe('-S node  --a\t--b')
  })

  it('trims blanks around the argument', () => {
    expect(parseShebangLine(text('#!/bin/sh   -e   \n'))).toEqual({
      interpreter: '/bin/sh',
      argument: '-e',
      truncated: false,
    })
  })

  it('uses tabs as separators', () => {
    expect(parseShebangLine(text('#!\t/usr/bin/env\tnode\t\n'))).toEqual({
      interpreter: '/usr/bin/env',
      argument: 'node',
      truncated: false,
    })
  })

  it('strips the CR of a CRLF line ending and flags it', () => {
    // The runtime keeps the CR (env looks for "node\r"), so callers report crlf.
    expect(parseShebangLine(text('#!/usr/bin/env node\r\nmore\r\n'))).toEqual({
      interpreter: '/usr/bin/env',
      argument: 'node',
      truncated: false,
      crlf: true,
    })
    expect(parseShebangLine(text('#!/bin/sh\r\n'))).toEqual({
      interpreter: '/bin/sh',
      truncated: false,
      crlf: true,
    })
    expect(parseShebangLine(text('#!/bin/sh -e \t\r\n'))).toEqual({
      interpreter: '/bin/sh',
      argument: '-e',
      truncated: false,
      crlf: true,
    })
  })

  it('sets no crlf key for LF lines, and only looks at the first line for it', () => {
    expect(parseShebangLine(text('#!/bin/sh\n'))).not.toHaveProperty('crlf')
    expect(parseShebangLine(text('#!/bin/sh\necho\r\n'))).not.toHaveProperty('crlf')
  })

  it('handles a line without newline that fits (short file)', () => {
    expect(parseShebangLine(text('#!/bin/sh'))).toEqual({interpreter: '/bin/sh', truncated: false})
  })

  it('flags a line with no newline within HEADER_BYTES as truncated', () => {
    const head = text(`#!/usr/bin/env node ${'a'.repeat(400)}`).subarray(0, HEADER_BYTES)
    const parsed = parseShebangLine(head)
    expect(parsed.truncated).toBe(true)
    expect(parsed.interpreter).toBe('/usr/bin/env')
    expect(parsed.argument).toBe(`node ${'a'.repeat(HEADER_BYTES - 20)}`)
  })

  it('flags exactly HEADER_BYTES bytes without newline as truncated, one less as not', () => {
    expect(parseShebangLine(text(`#!/bin/${'x'.repeat(HEADER_BYTES - 7)}`)).truncated).toBe(true)
    expect(parseShebangLine(text(`#!/bin/${'x'.repeat(HEADER_BYTES - 8)}`)).truncated).toBe(false)
  })

  it('returns an empty interpreter for "#!" alone or "#!" plus blanks', () => {
    expect(parseShebangLine(text('#!'))).toEqual({interpreter: '', truncated: false})
    expect(parseShebangLine(text('#!\n'))).toEqual({interpreter: '', truncated: false})
    expect(parseShebangLine(text('#!   \t\n'))).toEqual({interpreter: '', truncated: false})
  })

  it('keeps a relative interpreter literally (no PATH search)', () => {
    expect(parseShebangLine(text('#!node\n'))).toEqual({interpreter: 'node', truncated: false})
  })

  it('only looks at the first line', () => {
    expect(parseShebangLine(text('#!/bin/sh\n#!/bin/bash -x\n'))).toEqual({
      interpreter: '/bin/sh',
      truncated: false,
    })
  })
})

describe('isNativeKind', () => {
  it('is true for elf, macho and pe only', () => {
    expect(isNativeKind('elf')).toBe(true)
    expect(isNativeKind('macho')).toBe(true)
    expect(isNativeKind('pe')).toBe(true)
    expect(isNativeKind('wasm')).toBe(false)
    expect(isNativeKind('shebang')).toBe(false)
    expect(isNativeKind('unknown')).toBe(false)
  })
})

describe('describeKind', () => {
  it('names every kind', () => {
    expect(describeKind(detectHeader(text('#!/usr/bin/env node\n')))).toBe('script (/usr/bin/env node)')
    expect(describeKind(detectHeader(text('#!/bin/sh\n')))).toBe('script (/bin/sh)')
    expect(describeKind({kind: 'wasm', wasmLayer: 'core'})).toBe('WebAssembly module')
    expect(describeKind({kind: 'wasm', wasmLayer: 'component'})).toBe('WebAssembly component')
    expect(describeKind({kind: 'elf'})).toBe('native ELF binary')
    expect(describeKind({kind: 'macho'})).toBe('native Mach-O binary')
    expect(describeKind({kind: 'pe'})).toBe('native PE (Windows) binary')
    expect(describeKind({kind: 'unknown'})).toBe('unknown')
  })
})
