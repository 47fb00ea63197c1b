import {createHash} from 'node:crypto'
import {compareBytes} from '../format/byte-order.js'
import type {Problem} from '../errors.js'
import {describeKind, detectHeader} from '../format/header.js'

/** Import modules every WASI preview1 runtime provides. */
export const WASI_MODULES: ReadonlySet<string> = new Set(['wasi_snapshot_preview1', 'wasi_unstable'])
/** Host modules the agentOS runtime provides on top of WASI. */
export const AGENTOS_HOST_MODULES: ReadonlySet<string> = new Set([
  'host_fs',
  'host_net',
  'host_process',
  'host_user',
  'host_tty',
])

/** One WebAssembly page is 64 KiB. */
export const WASM_PAGE_BYTES = 65_536

/** The functions (and other items) a module imports from one import module. */
export interface WasmImportGroup {
  module: string
  /** Field names, sorted, without repeats. */
  names: string[]
}

/** Linear memory 0 of a module: declared in the module or imported. */
export interface WasmMemory {
  /** Initial size in 64 KiB pages. */
  initialPages: number
  /** Maximum size in pages, when the module declares one. */
  maximumPages?: number
  imported: boolean
  shared: boolean
}

/** What a module is, as far as running it as a command goes. */
export interface WasmFacts {
  /** From the version bytes; `none` when the file is not WebAssembly at all. */
  layer: 'core' | 'component' | 'unknown' | 'none'
  /** `new WebAssembly.Module(bytes)` succeeded. */
  compiles: boolean
  /** Sorted by module name. */
  imports: WasmImportGroup[]
  exports: {start: boolean; initialize: boolean; memory: boolean}
  memory?: WasmMemory
  size: number
  sha256: string
}

/** Result of {@link inspectWasmModule}. */
export interface WasmInspection {
  facts: WasmFacts
  problems: Problem[]
}

// lib is ES2023 without DOM, so the WebAssembly global is typed locally with the one call used.
const wasm = (globalThis as unknown as {WebAssembly: {Module: new (bytes: Uint8Array) => object}}).WebAssembly

/**
 * Checks that a file can run as a WASI command in agentOS and reports what it is: the layer, the
 * imports grouped by module, the command exports and the initial memory. Every finding is a coded
 * {@link Problem} about `file` (the path shown to the user); nothing is thrown for bad content.
 */
export function inspectWasmModule(bytes: Uint8Array, file: string): WasmInspection {
  const problems: Problem[] = []
  const facts: WasmFacts = {
    layer: 'none',
    compiles: false,
    imports: [],
    exports: {start: false, initialize: false, memory: false},
    memory: undefined,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }
  const push = (code: string, message: string, hint: string) =>
    problems.push({
      code,
      severity: code.startsWith('ERR_') ? 'error' : code.startsWith('WARN_') ? 'warning' : 'info',
      path: file,
      message: `${file} ${message}`,
      hint,
    })

  const header = detectHeader(bytes.subarray(0, 256))
  if (header.kind !== 'wasm') {
    const found = describeKind(header)
    push(
      'ERR_AGENTOS_WASM_MAGIC',
      bytes.length === 0
        ? 'is empty, not a WebAssembly module'
        : `is not a WebAssembly module: it starts with ${firstBytes(bytes)}${
            found === 'unknown' ? '' : ` (a ${found})`
          }, not 00 61 73 6d ("\\0asm")`,
      'Pass the .wasm file the compiler wrote (e.g. target/wasm32-wasip1/release/<name>.wasm).',
    )
    return {facts, problems}
  }
  facts.layer = header.wasmLayer ?? 'unknown'
  if (facts.layer === 'component') {
    push(
      'ERR_AGENTOS_WASM_COMPONENT',
      'is a WebAssembly component; a component needs a WASI preview2 runtime, and agentOS runs preview1 core modules',
      'Build a core module for wasm32-wasip1 (clang --target=wasm32-wasi, cargo --target wasm32-wasip1).',
    )
    return {facts, problems}
  }
  if (facts.layer !== 'core') {
    push(
      'ERR_AGENTOS_WASM_VERSION',
      `has the WebAssembly magic but unknown version bytes ${
        header.wasmVersion ? spaced(header.wasmVersion) : '(missing)'
      }`,
      'Rebuild the module; a core module starts with 00 61 73 6d 01 00 00 00.',
    )
    return {facts, problems}
  }

  const parsed = parseSections(bytes)
  facts.imports = parsed.imports
  facts.exports = {
    start: parsed.exports.get('_start') === EXTERNAL_FUNC,
    initialize: parsed.exports.get('_initialize') === EXTERNAL_FUNC,
    memory: parsed.exports.get('memory') === EXTERNAL_MEMORY,
  }
  facts.memory = parsed.memory

  try {
    new wasm.Module(bytes)
    facts.compiles = true
  } catch (error) {
    push(
      'ERR_AGENTOS_WASM_INVALID',
      `does not compile, so it is truncated or corrupt: ${(error as Error).message}`,
      'Rebuild the module and copy it again; check the copy is complete (compare sizes).',
    )
    // Exports and imports of a module that does not compile are not trustworthy: stop here.
    return {facts, problems}
  }

  if (!facts.exports.start) {
    if (facts.exports.initialize) {
      push(
        'ERR_AGENTOS_WASM_REACTOR',
        'exports _initialize but no _start: it is a reactor (a library), not a command',
        'Build an executable (a main function), not a library: e.g. drop -mexec-model=reactor or crate-type cdylib.',
      )
    } else {
      push(
        'ERR_AGENTOS_WASM_NO_START',
        'exports no _start function, so it cannot run as a command',
        'Build an executable with a main function for wasm32-wasip1; the linker then exports _start.',
      )
    }
  } else if (facts.exports.initialize) {
    push(
      'WARN_AGENTOS_WASM_START_AND_INITIALIZE',
      'exports both _start and _initialize; WASI runtimes (node:wasi among them) refuse to start such a module',
      'Export only _start: build it as a command.',
    )
  }

  for (const group of facts.imports) {
    if (WASI_MODULES.has(group.module)) continue
    const fields = listNames(group)
    if (AGENTOS_HOST_MODULES.has(group.module)) {
      push(
        'INFO_AGENTOS_WASM_HOST_IMPORT',
        `imports the agentOS host module ${group.module} (${fields}); it runs in agentOS, not on a stock WASI runtime`,
        'Nothing to do for agentOS.',
      )
    } else {
      push(
        'WARN_AGENTOS_WASM_UNKNOWN_IMPORT',
        `imports ${fields} from module "${group.module}", which neither WASI nor the agentOS host provides; instantiating it will fail`,
        'Link without unresolved symbols (add the missing library) so the module imports only wasi_snapshot_preview1.',
      )
    }
  }

  if (!facts.exports.memory) {
    push(
      'WARN_AGENTOS_WASM_NO_MEMORY',
      'exports no memory named "memory"; WASI calls cannot read or write its buffers',
      'Build with the standard WASI target, which exports the linear memory as "memory".',
    )
  }
  return {facts, problems}
}

function firstBytes(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 8))
  const hex = spaced(head.toString('hex'))
  const text = [...head].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
  return `${hex} ("${text}")`
}

function spaced(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1 ')
}

function listNames(group: WasmImportGroup): string {
  const shown = group.names.slice(0, 5).map((name) => `${group.module}.${name}`)
  const more = group.names.length - shown.length
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ')
}

const EXTERNAL_FUNC = 0
const EXTERNAL_MEMORY = 2

interface ParsedSections {
  imports: WasmImportGroup[]
  /** Export name → external kind. */
  exports: Map<string, number>
  memory?: WasmMemory
}

/** Thrown by the reader when the bytes end early or hold something it does not know. */
class Malformed extends Error {}

/** A cursor over the module bytes that reads the LEB128 and name encodings of the binary format. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

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

  name(): string {
    const length = this.leb()
    if (this.pos + length > this.end) throw new Malformed()
    const text = Buffer.from(this.bytes.subarray(this.pos, this.pos + length)).toString('utf8')
    this.pos += length
    return text
  }

  limits(): {initial: number; maximum?: number; shared: boolean} {
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

  valueType(): void {
    const type = this.byte()
    // (ref null? <heaptype>) carries a signed LEB heap type after the prefix byte.
    if (type === 0x63 || type === 0x64) this.leb()
  }
}

/**
 * Reads the import, memory and export sections without compiling. Stops quietly at the first
 * malformed byte: the compile step reports corrupt modules with the engine's own message.
 */
function parseSections(bytes: Uint8Array): ParsedSections {
  const groups = new Map<string, Set<string>>()
  const exports = new Map<string, number>()
  let importedMemory: WasmMemory | undefined
  let definedMemory: WasmMemory | undefined
  let pos = 8
  try {
    while (pos < bytes.length) {
      const head = new Reader(bytes, pos, bytes.length)
      const id = head.byte()
      const size = head.leb()
      const end = head.pos + size
      if (end > bytes.length) break
      const r = new Reader(bytes, head.pos, end)
      if (id === 2) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          const module = r.name()
          const name = r.name()
          const kind = r.byte()
          if (!groups.has(module)) groups.set(module, new Set())
          groups.get(module)!.add(name)
          if (kind === 0) r.leb()
          else if (kind === 1) {
            r.valueType()
            r.limits()
          } else if (kind === 2) {
            const limits = r.limits()
            importedMemory ??= toMemory(limits, true)
          } else if (kind === 3) {
            r.valueType()
            r.byte()
          } else if (kind === 4) {
            r.byte()
            r.leb()
          } else throw new Malformed()
        }
      } else if (id === 5) {
        const count = r.leb()
        if (count > 0) definedMemory = toMemory(r.limits(), false)
      } else if (id === 7) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          const name = r.name()
          const kind = r.byte()
          r.leb()
          exports.set(name, kind)
        }
      }
      pos = end
    }
  } catch (error) {
    if (!(error instanceof Malformed)) throw error
  }
  const imports = [...groups]
    .map(([module, names]) => ({module, names: [...names].sort(compareBytes)}))
    .sort((a, b) => compareBytes(a.module, b.module))
  // Memory index 0 is the imported one when a memory is imported, else the first defined one.
  const memory = importedMemory ?? definedMemory
  return memory ? {imports, exports, memory} : {imports, exports}
}

function toMemory(
  limits: {initial: number; maximum?: number; shared: boolean},
  imported: boolean,
): WasmMemory {
  const memory: WasmMemory = {initialPages: limits.initial, imported, shared: limits.shared}
  if (limits.maximum !== undefined) memory.maximumPages = limits.maximum
  return memory
}
