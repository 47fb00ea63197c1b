import {RUN_EXIT, runError} from '../../errors.js'
import {containPaths} from './contain.js'
import type {Preopen} from './host/abi.js'

// Not `import … from 'node:fs'`: see the note in run.ts.
const {readFileSync, writeSync} = process.getBuiltinModule('node:fs')

/** Options of {@link runWasi}. */
export interface WasiRunOptions {
  /** Host path of the module. */
  module: string
  /** argv, argv[0] included. */
  args: string[]
  env: Record<string, string>
  preopens: Preopen[]
  /**
   * The command line that starts the WASI runner for commands the guest spawns (the runner's
   * `selfRunnerArgv`); without it the guest cannot spawn.
   */
  runner?: string[]
  stdin?: number
  stdout?: number
  stderr?: number
}

// lib is ES2023 without DOM, so the WebAssembly global is typed locally with the calls used here.
interface WasmModuleDescriptor {
  module: string
  name: string
  kind: string
}
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object
    imports(module: object): WasmModuleDescriptor[]
    exports(module: object): WasmModuleDescriptor[]
  }
  Instance: new (module: object, imports: object) => {exports: Record<string, unknown>}
  RuntimeError: new () => Error
}
const wasm = (globalThis as unknown as {WebAssembly: WasmApi}).WebAssembly

type WasiCtor = typeof import('node:wasi').WASI
let wasiClass: Promise<WasiCtor> | undefined

/**
 * node:wasi, loaded without its one-time ExperimentalWarning: the warning is about Node's API,
 * not the guest, and would land in the guest's stderr.
 */
function loadWasi(): Promise<WasiCtor> {
  wasiClass ??= (async () => {
    const original = process.emitWarning
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      const text = typeof warning === 'string' ? warning : warning.message
      if (/WASI/.test(text)) return
      return (original as (...args: unknown[]) => void).call(process, warning, ...rest)
    }) as typeof process.emitWarning
    try {
      return (await import('node:wasi')).WASI
    } finally {
      process.emitWarning = original
    }
  })()
  return wasiClass
}

// WASI rights (preview1 bit numbers) that modify something; a read-only preopen loses them, so
// every open below it comes back without write access (uvwasi enforces rights per descriptor).
const WRITE_RIGHTS =
  (1n << 0n) | // fd_datasync
  (1n << 3n) | // fd_fdstat_set_flags
  (1n << 4n) | // fd_sync
  (1n << 6n) | // fd_write
  (1n << 8n) | // fd_allocate
  (1n << 9n) | // path_create_directory
  (1n << 10n) | // path_create_file
  (1n << 11n) | // path_link_source
  (1n << 12n) | // path_link_target
  (1n << 16n) | // path_rename_source
  (1n << 17n) | // path_rename_target
  (1n << 19n) | // path_filestat_set_size
  (1n << 20n) | // path_filestat_set_times
  (1n << 22n) | // fd_filestat_set_size
  (1n << 23n) | // fd_filestat_set_times
  (1n << 24n) | // path_symlink
  (1n << 25n) | // path_remove_directory
  (1n << 26n) // path_unlink_file

/**
 * Runs a WASI preview1 command in this process with node:wasi: argv, env, the three standard
 * descriptors and the exit code pass through; `preopens` give the guest its `/`. Returns the
 * guest's exit code (a trap is 134, as an abort).
 *
 * Modules that also import the agentOS host modules (`host_fs`, `host_net`, …) run with the host
 * layer of host/imports.ts.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_WASM_IMPORTS` (imports from neither WASI nor agentOS), `_WASM_NOT_COMMAND`,
 *   `_WASM_INVALID`.
 */
export async function runWasi(options: WasiRunOptions): Promise<number> {
  // Synchronous reads, compilation and instantiation: each asynchronous step is a round trip
  // through the thread pool or the task queue, which on a busy machine costs more than the step.
  // V8 compiles a module on its background threads either way.
  const bytes = readFileSync(options.module)
  const WASI = await loadWasi()
  const module = compile(bytes, options.module)
  const {imports, foreign} = await checkCommand(module, options.module)
  const version = imports.some((i) => i.module === 'wasi_unstable') ? 'unstable' : 'preview1'
  const wasi = new WASI({
    version,
    args: options.args,
    env: options.env,
    preopens: Object.fromEntries(options.preopens.map((p) => [p.guest, p.host])),
    returnOnExit: true,
    stdin: options.stdin ?? 0,
    stdout: options.stdout ?? 1,
    stderr: options.stderr ?? 2,
  })
  const readOnlyFds = options.preopens.flatMap((p, index) => (p.readOnly ? [index + 3] : []))
  const started: {instance?: {exports: Record<string, unknown>}} = {}
  // Every module, plain or not, reaches node:wasi through the path-checking layer (contain.ts).
  const imported = containPaths(
    restrictedOnFirstCall(
      wasi.wasiImport as Record<string, (...args: unknown[]) => unknown>,
      started,
      readOnlyFds,
    ),
    options.preopens,
    () => started.instance?.exports.memory as {buffer: ArrayBuffer} | undefined,
  )
  // Modules linked against the agentOS libc get the host layer; plain WASI modules never load it.
  const host =
    foreign.length > 0
      ? (await import('./host/imports.js')).createHostLayer(bytes, imported, {
          stdio: [options.stdin ?? 0, options.stdout ?? 1, options.stderr ?? 2],
          preopens: options.preopens,
          runner: options.runner,
        })
      : undefined
  const instance = new wasm.Instance(
    module,
    host?.imports ?? {[version === 'unstable' ? 'wasi_unstable' : 'wasi_snapshot_preview1']: imported},
  )
  host?.bind(instance)
  try {
    started.instance = instance
    return wasi.start(instance as never) ?? 0
  } catch (error) {
    if (error instanceof wasm.RuntimeError) {
      writeSync(options.stderr ?? 2, `wasm trap: ${error.message}\n`)
      return 134
    }
    throw error
  }
}

/** The compiled module; `_WASM_INVALID` when it does not compile. */
function compile(bytes: Uint8Array, path: string): object {
  try {
    return new wasm.Module(bytes)
  } catch (error) {
    throw runError('ERR_AGENTOS_RUN_WASM_INVALID', `${path} does not compile: ${(error as Error).message}`, {
      hint: 'Check it with `agentos-toolchain assemble-wasm --check`.',
      exitCode: RUN_EXIT.cannotExecute,
    })
  }
}

/**
 * The module's imports and the modules among them that are not WASI, once it is known to be a
 * command that imports only WASI and the agentOS host modules.
 */
async function checkCommand(
  module: object,
  path: string,
): Promise<{imports: WasmModuleDescriptor[]; foreign: string[]}> {
  const imports = wasm.Module.imports(module)
  // The usual case is decided without loading wasm-module.js (and node:crypto with it).
  const plain = imports.every((i) => i.module === 'wasi_snapshot_preview1')
  const {AGENTOS_HOST_MODULES, WASI_MODULES} = plain
    ? {AGENTOS_HOST_MODULES: new Set<string>(), WASI_MODULES: new Set(['wasi_snapshot_preview1'])}
    : await import('../../../wasm/module.js')
  const foreign = [...new Set(imports.map((i) => i.module).filter((name) => !WASI_MODULES.has(name)))]
  const unknown = foreign.filter((name) => !AGENTOS_HOST_MODULES.has(name))
  if (unknown.length > 0) {
    throw runError(
      'ERR_AGENTOS_RUN_WASM_IMPORTS',
      `${path} imports ${unknown.join(', ')}, which neither WASI nor the agentOS host provides`,
      {
        hint: 'Only modules that import WASI preview1 and the agentOS host modules run here; link without unresolved symbols.',
        exitCode: RUN_EXIT.cannotExecute,
      },
    )
  }
  if (!wasm.Module.exports(module).some((e) => e.name === '_start' && e.kind === 'function')) {
    throw runError('ERR_AGENTOS_RUN_WASM_NOT_COMMAND', `${path} exports no _start: it is not a command`, {
      hint: 'Build a command (wasm32-wasi with a main function), not a reactor or library.',
      exitCode: RUN_EXIT.cannotExecute,
    })
  }
  return {imports, foreign}
}

/** node:wasi's functions, narrowing the rights of the read-only preopens on the guest's first call. */
function restrictedOnFirstCall(
  raw: Record<string, (...args: unknown[]) => unknown>,
  started: {instance?: {exports: Record<string, unknown>}},
  readOnlyFds: number[],
): Record<string, (...args: unknown[]) => unknown> {
  let restricted = readOnlyFds.length === 0
  // Rights can only be narrowed once start() has set the memory, i.e. on the guest's first call.
  const imported: Record<string, (...args: unknown[]) => unknown> = {}
  for (const [name, fn] of Object.entries(raw)) {
    imported[name] = restricted
      ? fn
      : (...args: unknown[]) => {
          if (!restricted) {
            restricted = true
            restrictRights(raw, started.instance!, readOnlyFds)
          }
          return fn(...args)
        }
  }
  return imported
}

function restrictRights(
  raw: Record<string, (...args: unknown[]) => unknown>,
  instance: {exports: Record<string, unknown>},
  fds: number[],
): void {
  const memory = instance.exports.memory as {buffer: ArrayBuffer} | undefined
  if (!memory) return
  // fd_fdstat_get writes 24 bytes into guest memory: borrow the first 24 and put them back.
  const bytes = new Uint8Array(memory.buffer, 0, 24)
  const saved = bytes.slice()
  for (const fd of fds) {
    if (raw.fd_fdstat_get!(fd, 0) !== 0) continue
    const view = new DataView(memory.buffer)
    const base = view.getBigUint64(8, true)
    const inheriting = view.getBigUint64(16, true)
    raw.fd_fdstat_set_rights!(fd, base & ~WRITE_RIGHTS, inheriting & ~WRITE_RIGHTS)
  }
  new Uint8Array(memory.buffer, 0, 24).set(saved)
}
