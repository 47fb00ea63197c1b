/**
 * The subset of BARE (https://baremessages.org) the `.aospkg` chunks use: uvarint, fixed-width
 * little-endian integers, bool, str, optional, list and map. Decoding is strict: every length is
 * checked against the bytes left, uvarints must be minimal, strings must be valid UTF-8, maps may
 * not repeat a key, and {@link BareDecoder.end} refuses trailing bytes — the same rules the runtime's
 * decoder applies, so anything we accept it accepts too.
 */
import {AgentosError} from '../errors.js'

const HINT = 'The archive is damaged or was not written by an agentOS packer; rebuild it.'
const UTF8 = new TextDecoder('utf-8', {fatal: true})
// Past 2^53 a JavaScript number no longer holds every integer exactly.
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** Reads BARE values from one chunk; `label` names the chunk in error messages. */
export class BareDecoder {
  /** Byte position of the next read, relative to the start of `bytes`. */
  offset = 0
  private readonly view: DataView

  constructor(
    private readonly bytes: Uint8Array,
    private readonly label: string,
    private readonly path?: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.offset
  }

  /** A decode error at the current offset. */
  fail(what: string, code = 'ERR_AGENTOS_AOSPKG_DECODE'): AgentosError {
    return new AgentosError(code, `${this.label}: ${what} at byte ${this.offset}`, {
      hint: HINT,
      path: this.path,
    })
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) {
      throw this.fail(`${what} needs ${count} bytes but only ${this.remaining} are left`)
    }
  }

  u8(): number {
    this.need(1, 'u8')
    return this.bytes[this.offset++]!
  }

  u16(): number {
    this.need(2, 'u16')
    const value = this.view.getUint16(this.offset, true)
    this.offset += 2
    return value
  }

  u32(): number {
    this.need(4, 'u32')
    const value = this.view.getUint32(this.offset, true)
    this.offset += 4
    return value
  }

  /** A u64 as a number; values past 2^53 cannot be file offsets or sizes of a real file. */
  u64(what = 'u64'): number {
    this.need(8, what)
    const value = this.view.getBigUint64(this.offset, true)
    if (value > MAX_SAFE) throw this.fail(`${what} ${value} is too large`, 'ERR_AGENTOS_AOSPKG_OVERFLOW')
    this.offset += 8
    return Number(value)
  }

  /** An i64 as a number (same range limit as {@link u64}, both signs). */
  i64(what = 'i64'): number {
    this.need(8, what)
    const value = this.view.getBigInt64(this.offset, true)
    if (value > MAX_SAFE || value < -MAX_SAFE) {
      throw this.fail(`${what} ${value} is out of range`, 'ERR_AGENTOS_AOSPKG_OVERFLOW')
    }
    this.offset += 8
    return Number(value)
  }

  /**
   * LEB128 unsigned varint. Arithmetic is done with multiplication, not 32-bit bit operations, so
   * values past 2^32 decode correctly; past 2^53 is an overflow, an overlong encoding an error.
   */
  uvarint(what = 'uvarint'): number {
    const start = this.offset
    let value = 0
    let scale = 1
    for (let index = 0; ; index++) {
      if (index === 10) throw this.fail(`${what} is longer than 10 bytes`)
      const byte = this.u8()
      value += (byte & 0x7f) * scale
      if (value > Number.MAX_SAFE_INTEGER) {
        this.offset = start
        throw this.fail(`${what} is larger than 2^53`, 'ERR_AGENTOS_AOSPKG_OVERFLOW')
      }
      if ((byte & 0x80) === 0) {
        if (byte === 0 && index > 0) {
          this.offset = start
          throw this.fail(`${what} is not minimally encoded`)
        }
        return value
      }
      scale *= 128
    }
  }

  bool(what = 'bool'): boolean {
    const byte = this.u8()
    if (byte > 1) {
      this.offset--
      throw this.fail(`${what} is ${byte}, not 0 or 1`)
    }
    return byte === 1
  }

  str(what = 'string'): string {
    const length = this.uvarint(`${what} length`)
    this.need(length, what)
    try {
      return UTF8.decode(this.bytes.subarray(this.offset, (this.offset += length)))
    } catch {
      this.offset -= length
      throw this.fail(`${what} is not valid UTF-8`)
    }
  }

  /** Enum ordinal, refused when not below `count`. */
  enumeration(count: number, what = 'enum'): number {
    const start = this.offset
    const value = this.uvarint(what)
    if (value >= count) {
      this.offset = start
      throw this.fail(`${what} ${value} is not a known value`)
    }
    return value
  }

  optional<T>(read: () => T, what = 'optional'): T | undefined {
    return this.bool(`${what} tag`) ? read() : undefined
  }

  /**
   * A list. Each item takes at least one byte, so a count beyond the bytes left is refused before
   * anything is allocated; `max` caps the count (the index's 200,000-entry limit).
   */
  list<T>(read: (index: number) => T, what = 'list', max?: {count: number; code: string}): T[] {
    const start = this.offset
    const count = this.uvarint(`${what} count`)
    if (max && count > max.count) {
      this.offset = start
      throw this.fail(`${what} has ${count} items, more than the limit of ${max.count}`, max.code)
    }
    const left = this.remaining
    if (count > left) {
      this.offset = start
      throw this.fail(`${what} count ${count} exceeds the ${left} bytes left`)
    }
    const items: T[] = []
    for (let index = 0; index < count; index++) items.push(read(index))
    return items
  }

  /** A `map<str><str>`; a repeated key is an error (as in the runtime's decoder). */
  stringMap(what = 'map'): Record<string, string> {
    const entries = this.list(() => {
      const at = this.offset
      return [this.str(`${what} key`), this.str(`${what} value`), at] as const
    }, what)
    const seen = new Set<string>()
    for (const [key, , at] of entries) {
      if (seen.has(key)) {
        this.offset = at
        throw this.fail(`${what} repeats the key ${JSON.stringify(key)}`, 'ERR_AGENTOS_AOSPKG_DUPLICATE_KEY')
      }
      seen.add(key)
    }
    return Object.fromEntries(entries.map(([key, value]) => [key, value]))
  }

  /** Refuses bytes after the root value: a chunk must be consumed exactly. */
  end(): void {
    if (this.remaining !== 0) {
      throw this.fail(`${this.remaining} trailing bytes after the value`, 'ERR_AGENTOS_AOSPKG_TRAILING_BYTES')
    }
  }
}

/** Writes BARE values into a growing buffer. */
export class BareEncoder {
  private chunks: Buffer[] = []
  private length = 0

  private push(bytes: Buffer): this {
    this.chunks.push(bytes)
    this.length += bytes.length
    return this
  }

  u8(value: number): this {
    return this.push(Buffer.from([value & 0xff]))
  }

  u16(value: number): this {
    const bytes = Buffer.alloc(2)
    bytes.writeUInt16LE(value)
    return this.push(bytes)
  }

  u32(value: number): this {
    const bytes = Buffer.alloc(4)
    bytes.writeUInt32LE(value)
    return this.push(bytes)
  }

  u64(value: number | bigint): this {
    const bytes = Buffer.alloc(8)
    bytes.writeBigUInt64LE(BigInt(value))
    return this.push(bytes)
  }

  i64(value: number | bigint): this {
    const bytes = Buffer.alloc(8)
    bytes.writeBigInt64LE(BigInt(value))
    return this.push(bytes)
  }

  /** Minimal LEB128; takes a bigint too so tests can encode values past 2^53. */
  uvarint(value: number | bigint): this {
    let rest = BigInt(value)
    if (rest < 0n) throw new Error(`uvarint cannot encode ${value}`)
    const bytes: number[] = []
    do {
      const low = Number(rest & 0x7fn)
      rest >>= 7n
      bytes.push(rest > 0n ? low | 0x80 : low)
    } while (rest > 0n)
    return this.push(Buffer.from(bytes))
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0)
  }

  str(value: string): this {
    const bytes = Buffer.from(value, 'utf8')
    return this.uvarint(bytes.length).push(bytes)
  }

  optional<T>(value: T | undefined, write: (value: T) => void): this {
    this.bool(value !== undefined)
    if (value !== undefined) write(value)
    return this
  }

  list<T>(items: readonly T[], write: (item: T) => void): this {
    this.uvarint(items.length)
    for (const item of items) write(item)
    return this
  }

  /** Writes entries in the order given; callers sort them for deterministic output. */
  stringMap(entries: ReadonlyArray<readonly [string, string]>): this {
    return this.list(entries, ([key, value]) => this.str(key).str(value))
  }

  /** Everything written so far. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.length)
  }
}
