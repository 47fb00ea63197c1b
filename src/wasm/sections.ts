/**
 * The one reader of the WebAssembly binary format: LEB128 numbers, names, limits, the section
 * list and import entries. `module.ts` (assemble-wasm's module check) and the WASI host's
 * signature reader (`run/emulation/wasi/host/signatures.ts`) both read modules through it.
 *
 * It imports nothing: the WASI host loads it on the startup path of every WASM command.
 */

/** Thrown by the reader when the bytes end early or hold something it does not know. */
export class Malformed extends Error {}

/** Section id of the type section (function signatures). */
export const TYPE_SECTION = 1
/** Section id of the import section. */
export const IMPORT_SECTION = 2
/** Section id of the memory section (memories the module defines). */
export const MEMORY_SECTION = 5
/** Section id of the export section. */
export const EXPORT_SECTION = 7

/** Import kind of a function (`importdesc` 0x00); its entry carries a type index. */
export const EXTERNAL_FUNC = 0
/** Import and export kind of a memory (0x02). */
export const EXTERNAL_MEMORY = 2

/** Memory or table limits as declared. */
export interface Limits {
  initial: number
  maximum?: number
  shared: boolean
}

/** A cursor over the module bytes that reads the LEB128 and name encodings of the binary format. */
export class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  /** The next byte. */
  byte(): number {
    if (this.pos >= this.end) throw new Malformed()
    return this.bytes[this.pos++]!
  }

  /** Unsigned LEB128; arithmetic instead of bit operations keeps 64-bit limits exact up to 2^53. */
  leb(maxBytes = 5): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte()
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return result
      scale *= 128
    }
    throw new Malformed()
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const length = this.leb()
    if (this.pos + length > this.end) throw new Malformed()
    const text = Buffer.from(this.bytes.subarray(this.pos, this.pos + length)).toString('utf8')
    this.pos += length
    return text
  }

  /** Memory or table limits; the flags say which fields follow and how wide they are. */
  limits(): Limits {
    const flags = this.byte()
    const wide = (flags & 0x04) !== 0
    const initial = this.leb(wide ? 10 : 5)
    const maximum = flags & 0x01 ? this.leb(wide ? 10 : 5) : undefined
    // Bit 3 announces a custom page size (log2), which follows the limits.
    if (flags & 0x08) this.leb()
    return maximum === undefined
      ? {initial, shared: (flags & 0x02) !== 0}
      : {initial, maximum, shared: (flags & 0x02) !== 0}
  }

  /** The value type's code byte; a `(ref null? <heaptype>)` also consumes its signed LEB heap type. */
  valueType(): number {
    const type = this.byte()
    if (type === 0x63 || type === 0x64) this.leb()
    return type
  }
}

/** One section: its id and a reader bounded to its body. */
export interface Section {
  id: number
  body: Reader
}

/**
 * The sections of a module, in file order, after the 8-byte preamble. Ends quietly at a section
 * that claims more bytes than the module has; a header cut short throws {@link Malformed}.
 */
export function* sections(bytes: Uint8Array): Generator<Section> {
  for (const section of sectionHeads(bytes)) {
    if (section.end > bytes.length) return
    yield section
  }
}

/**
 * {@link sections} of the first bytes of a module: a section going past them is yielded too, its
 * reader bounded to the bytes at hand and `end` where it says it ends, and is the last one.
 */
export function* sectionHeads(bytes: Uint8Array): Generator<Section & {end: number}> {
  let pos = 8
  while (pos < bytes.length) {
    const head = new Reader(bytes, pos, bytes.length)
    const id = head.byte()
    const size = head.leb()
    const end = head.pos + size
    yield {id, body: new Reader(bytes, head.pos, Math.min(end, bytes.length)), end}
    pos = end
  }
}

/** Module, field and kind of an import entry: what precedes its descriptor. */
export interface ImportHead {
  module: string
  name: string
  kind: number
}

/** What an import descriptor says, as far as the readers care. */
export type ImportDescriptor = {kind: 0; typeIndex: number} | {kind: 2; limits: Limits} | {kind: 1 | 3 | 4}

/** Reads the module name, field name and kind byte of the next import entry. */
export function readImportHead(r: Reader): ImportHead {
  const module = r.name()
  const name = r.name()
  const kind = r.byte()
  return {module, name, kind}
}

/**
 * Reads the descriptor of an import of `kind` (after {@link readImportHead}).
 *
 * @throws Malformed for a kind the format does not define.
 */
export function readImportDescriptor(r: Reader, kind: number): ImportDescriptor {
  if (kind === 0) return {kind: 0, typeIndex: r.leb()}
  if (kind === 1) {
    r.valueType()
    r.limits()
    return {kind: 1}
  }
  if (kind === 2) return {kind: 2, limits: r.limits()}
  if (kind === 3) {
    r.valueType()
    r.byte()
    return {kind: 3}
  }
  if (kind === 4) {
    r.byte()
    r.leb()
    return {kind: 4}
  }
  throw new Malformed()
}
