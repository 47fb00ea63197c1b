import {createHash} from 'node:crypto'
import {compareBytes} from '../format/byte-order.js'
import type {Problem} from '../errors.js'
import {describeKind, detectHeader} from '../format/header.js'
import {
  EXPORT_SECTION,
  EXTERNAL_FUNC,
  EXTERNAL_MEMORY,
  IMPORT_SECTION,
  type Limits,
  Malformed,
  MEMORY_SECTION,
  readImportDescriptor,
  readImportHead,
  sections,
} from './sections.js'

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

/** Adds one coded problem about the module; the severity follows the code's prefix. */
type Report = (code: string, message: string, hint: string) => void

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
  const push: Report = (code, message, hint) =>
    problems.push({
      code,
      severity: code.startsWith('ERR_') ? 'error' : code.startsWith('WARN_') ? 'warning' : 'info',
      path: file,
      message: `${file} ${message}`,
      hint,
    })

  if (!checkLayer(bytes, facts, push)) return {facts, problems}

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

  checkCommandExports(facts.exports, push)
  checkImports(facts.imports, push)
  if (!facts.exports.memory) {
    push(
      'WARN_AGENTOS_WASM_NO_MEMORY',
      'exports no memory named "memory"; WASI calls cannot read or write its buffers',
      'Build with the standard WASI target, which exports the linear memory as "memory".',
    )
  }
  return {facts, problems}
}

/**
 * Sets `facts.layer` from the header; false (with the problem reported) unless the file is a core
 * module, which is the only kind worth reading further.
 */
function checkLayer(bytes: Uint8Array, facts: WasmFacts, push: Report): boolean {
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
    return false
  }
  facts.layer = header.wasmLayer ?? 'unknown'
  if (facts.layer === 'component') {
    push(
      'ERR_AGENTOS_WASM_COMPONENT',
      'is a WebAssembly component; a component needs a WASI preview2 runtime, and agentOS runs preview1 core modules',
      'Build a core module for wasm32-wasip1 (clang --target=wasm32-wasi, cargo --target wasm32-wasip1).',
    )
    return false
  }
  if (facts.layer !== 'core') {
    push(
      'ERR_AGENTOS_WASM_VERSION',
      `has the WebAssembly magic but unknown version bytes ${
        header.wasmVersion ? spaced(header.wasmVersion) : '(missing)'
      }`,
      'Rebuild the module; a core module starts with 00 61 73 6d 01 00 00 00.',
    )
    return false
  }
  return true
}

/** A command exports `_start`; `_initialize` makes it a reactor, or unstartable beside `_start`. */
function checkCommandExports(exports: WasmFacts['exports'], push: Report): void {
  if (!exports.start) {
    if (exports.initialize) {
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
  } else if (exports.initialize) {
    push(
      'WARN_AGENTOS_WASM_START_AND_INITIALIZE',
      'exports both _start and _initialize; WASI runtimes (node:wasi among them) refuse to start such a module',
      'Export only _start: build it as a command.',
    )
  }
}

/** Imports from beyond WASI: the agentOS host modules are a note, anything else will not link. */
function checkImports(imports: readonly WasmImportGroup[], push: Report): void {
  for (const group of imports) {
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

interface ParsedSections {
  imports: WasmImportGroup[]
  /** Export name → external kind. */
  exports: Map<string, number>
  memory?: WasmMemory
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
  try {
    for (const {id, body: r} of sections(bytes)) {
      if (id === IMPORT_SECTION) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          const {module, name, kind} = readImportHead(r)
          // Listed before its descriptor is read: a module cut short there still names the import.
          if (!groups.has(module)) groups.set(module, new Set())
          groups.get(module)!.add(name)
          const descriptor = readImportDescriptor(r, kind)
          if (descriptor.kind === 2) importedMemory ??= toMemory(descriptor.limits, true)
        }
      } else if (id === MEMORY_SECTION) {
        const count = r.leb()
        if (count > 0) definedMemory = toMemory(r.limits(), false)
      } else if (id === EXPORT_SECTION) {
        const count = r.leb()
        for (let i = 0; i < count; i++) {
          const name = r.name()
          const kind = r.byte()
          r.leb()
          exports.set(name, kind)
        }
      }
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

function toMemory(limits: Limits, imported: boolean): WasmMemory {
  const memory: WasmMemory = {initialPages: limits.initial, imported, shared: limits.shared}
  if (limits.maximum !== undefined) memory.maximumPages = limits.maximum
  return memory
}
