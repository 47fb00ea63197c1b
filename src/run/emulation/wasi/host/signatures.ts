/**
 * The function types of a module's imports, read from its type and import sections. Node's
 * `WebAssembly.Module.imports()` names the imports but not their types, and a host function must
 * return a value of the declared result type (a Number where an i64 is due throws a TypeError).
 */

/** A WebAssembly value type, as far as host functions care. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'ref'

/** One imported function and its signature. */
export interface FunctionImport {
  module: string
  name: string
  params: WasmValueType[]
  results: WasmValueType[]
}

const VALUE_TYPES: Record<number, WasmValueType> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'ref',
  0x6f: 'ref',
}

class Truncated extends Error {}

class Cursor {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new Truncated()
    return this.bytes[this.pos++]!
  }

  u32(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 5; i++) {
      const b = this.byte()
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return result
      scale *= 128
    }
    throw new Truncated()
  }

  name(): string {
    const length = this.u32()
    if (this.pos + length > this.end) throw new Truncated()
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, length).toString('utf8')
    this.pos += length
    return text
  }

  valueType(): WasmValueType {
    const code = this.byte()
    if (code === 0x63 || code === 0x64) {
      this.u32()
      return 'ref'
    }
    return VALUE_TYPES[code] ?? 'ref'
  }

  limits(): void {
    const flags = this.byte()
    this.u32()
    if (flags & 0x01) this.u32()
  }
}

/**
 * Lists the function imports of a module with their parameter and result types. Type entries the
 * reader does not know (GC rec groups) leave the signature of the imports that use them empty of
 * results, which the callers treat as "return an i32 errno".
 */
export function functionImports(bytes: Uint8Array): FunctionImport[] {
  const types: Array<{params: WasmValueType[]; results: WasmValueType[]}> = []
  const imports: FunctionImport[] = []
  let pos = 8
  try {
    while (pos < bytes.length) {
      const head = new Cursor(bytes, pos, bytes.length)
      const id = head.byte()
      const size = head.u32()
      const end = head.pos + size
      if (end > bytes.length) break
      const r = new Cursor(bytes, head.pos, end)
      if (id === 1) {
        const count = r.u32()
        for (let i = 0; i < count; i++) {
          if (r.byte() !== 0x60) break
          const params = Array.from({length: r.u32()}, () => r.valueType())
          const results = Array.from({length: r.u32()}, () => r.valueType())
          types.push({params, results})
        }
      } else if (id === 2) {
        const count = r.u32()
        for (let i = 0; i < count; i++) {
          const module = r.name()
          const name = r.name()
          const kind = r.byte()
          if (kind === 0) {
            const type = types[r.u32()] ?? {params: [], results: ['i32' as const]}
            imports.push({module, name, params: type.params, results: type.results})
          } else if (kind === 1) {
            r.valueType()
            r.limits()
          } else if (kind === 2) r.limits()
          else if (kind === 3) {
            r.valueType()
            r.byte()
          } else if (kind === 4) {
            r.byte()
            r.u32()
          } else break
        }
        // The import section is the last one this reader needs.
        break
      }
      pos = end
    }
  } catch (error) {
    if (!(error instanceof Truncated)) throw error
  }
  return imports
}
