/**
 * The function types of a module's imports, read from its type and import sections. Node's
 * `WebAssembly.Module.imports()` names the imports but not their types, and a host function must
 * return a value of the declared result type (a Number where an i64 is due throws a TypeError).
 */
import {
  IMPORT_SECTION,
  Malformed,
  type Reader,
  readImportDescriptor,
  readImportHead,
  sections,
  TYPE_SECTION,
} from '../../../../wasm/sections.js'

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

/**
 * Lists the function imports of a module with their parameter and result types. Type entries the
 * reader does not know (GC rec groups) leave the signature of the imports that use them empty of
 * results, which the callers treat as "return an i32 errno".
 */
export function functionImports(bytes: Uint8Array): FunctionImport[] {
  const types: Array<{params: WasmValueType[]; results: WasmValueType[]}> = []
  const imports: FunctionImport[] = []
  const valueType = (r: Reader): WasmValueType => VALUE_TYPES[r.valueType()] ?? 'ref'
  try {
    for (const {id, body: r} of sections(bytes)) {
      if (id === TYPE_SECTION) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          if (r.byte() !== 0x60) break
          const params = Array.from({length: r.leb()}, () => valueType(r))
          const results = Array.from({length: r.leb()}, () => valueType(r))
          types.push({params, results})
        }
      } else if (id === IMPORT_SECTION) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          const {module, name, kind} = readImportHead(r)
          // An unknown kind throws Malformed, which ends the reading like the end of the section.
          const descriptor = readImportDescriptor(r, kind)
          if (descriptor.kind === 0) {
            const type = types[descriptor.typeIndex] ?? {params: [], results: ['i32' as const]}
            imports.push({module, name, params: type.params, results: type.results})
          }
        }
        // The import section is the last one this reader needs.
        break
      }
    }
  } catch (error) {
    if (!(error instanceof Malformed)) throw error
  }
  return imports
}
