import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inspectWasmModule} from '../../../src/wasm/module.js'
import {ROOT} from '../../helpers/cli.js'
import {watToWasm} from '../../helpers/wasm.js'

// Fixtures are WebAssembly text assembled at test time; no binary is committed.
const HELLO = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\06\\00\\00\\00")
  (data (i32.const 16) "hello\\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))))`

const CAT = readFileSync(join(ROOT, 'fixtures/wat/cat.wat'), 'utf8')

const EXIT_CODE = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 3))))`

const ARGS_ENV = readFileSync(join(ROOT, 'fixtures/wat/args-env.wat'), 'utf8')

const REACTOR = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize")))`

const UNKNOWN_IMPORT = `(module
  (import "env" "foo" (func $foo))
  (import "env" "bar" (func $bar (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $foo)))`

const HOST_IMPORT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "host_net" "net_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
  (import "host_fs" "path_mode" (func $mode (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`

const NO_MEMORY = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "_start") (call $proc_exit (i32.const 0))))`

const IMPORTED_MEMORY = `(module
  (import "env" "memory" (memory 3 300))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "_start")))`

const START_AND_INITIALIZE = `(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "_initialize")))`

const UNSTABLE = `(module
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`

async function inspect(wat: string, file = 'x.wasm') {
  return inspectWasmModule(await watToWasm(wat), file)
}

const codes = (problems: Array<{code: string}>) => problems.map((p) => p.code).sort()

describe('inspectWasmModule', () => {
  it.each([
    ['hello', HELLO, ['fd_write']],
    ['cat with stdin', CAT, ['fd_read', 'fd_write']],
    ['exit code', EXIT_CODE, ['proc_exit']],
    [
      'args and env echo',
      ARGS_ENV,
      ['args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'fd_write'],
    ],
  ])('accepts the %s command with no problems and reports its facts', async (_label, wat, names) => {
    const bytes = await watToWasm(wat)
    const {facts, problems} = inspectWasmModule(bytes, 'cmd.wasm')
    expect(problems).toEqual([])
    expect(facts).toMatchObject({
      layer: 'core',
      compiles: true,
      imports: [{module: 'wasi_snapshot_preview1', names}],
      exports: {start: true, initialize: false, memory: true},
      size: bytes.length,
    })
    expect(facts.sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('reports the initial and maximum memory pages', async () => {
    expect((await inspect(HELLO)).facts.memory).toEqual({initialPages: 1, imported: false, shared: false})
    expect((await inspect(CAT)).facts.memory).toEqual({
      initialPages: 2,
      maximumPages: 16,
      imported: false,
      shared: false,
    })
  })

  it('reads an imported memory from the import section', async () => {
    const {facts, problems} = await inspect(IMPORTED_MEMORY)
    expect(facts.memory).toEqual({initialPages: 3, maximumPages: 300, imported: true, shared: false})
    expect(facts.imports).toEqual([
      {module: 'env', names: ['memory']},
      {module: 'wasi_snapshot_preview1', names: ['proc_exit']},
    ])
    expect(codes(problems)).toEqual(['WARN_AGENTOS_WASM_NO_MEMORY', 'WARN_AGENTOS_WASM_UNKNOWN_IMPORT'])
  })

  it('rejects a reactor as not a command', async () => {
    const {facts, problems} = await inspect(REACTOR, 'lib.wasm')
    expect(facts.exports).toEqual({start: false, initialize: true, memory: true})
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'ERR_AGENTOS_WASM_REACTOR',
        severity: 'error',
        path: 'lib.wasm',
        message: expect.stringContaining('not a command'),
        hint: expect.any(String),
      }),
    ])
  })

  it('rejects a module without _start', async () => {
    const {problems} = await inspect('(module (memory (export "memory") 1) (func (export "main")))')
    expect(codes(problems)).toEqual(['ERR_AGENTOS_WASM_NO_START'])
  })

  it('warns when a module exports both _start and _initialize', async () => {
    expect(codes((await inspect(START_AND_INITIALIZE)).problems)).toEqual([
      'WARN_AGENTOS_WASM_START_AND_INITIALIZE',
    ])
  })

  it('rejects a component, which needs a preview2 runtime', () => {
    const component = Buffer.from('0061736d0d000100', 'hex')
    const {facts, problems} = inspectWasmModule(component, 'comp.wasm')
    expect(facts.layer).toBe('component')
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({code: 'ERR_AGENTOS_WASM_COMPONENT', severity: 'error'})
    expect(problems[0]!.message).toContain('a component needs a WASI preview2 runtime')
  })

  it('rejects unknown version bytes', () => {
    const {facts, problems} = inspectWasmModule(Buffer.from('0061736d02000000', 'hex'), 'v2.wasm')
    expect(facts.layer).toBe('unknown')
    expect(codes(problems)).toEqual(['ERR_AGENTOS_WASM_VERSION'])
    expect(problems[0]!.message).toContain('02 00 00 00')
  })

  it('catches a truncated module at compile time', async () => {
    const whole = await watToWasm(HELLO)
    const {facts, problems} = inspectWasmModule(whole.subarray(0, whole.length - 5), 'cut.wasm')
    expect(facts.layer).toBe('core')
    expect(facts.compiles).toBe(false)
    expect(codes(problems)).toEqual(['ERR_AGENTOS_WASM_INVALID'])
    expect(problems[0]!.message).toMatch(/truncated or corrupt: .+/)
  })

  it('catches a corrupt module (a bad opcode) at compile time', async () => {
    const bytes = Buffer.from(await watToWasm(EXIT_CODE))
    // The last byte is the `end` of the only function body; 0xff is no opcode.
    bytes[bytes.length - 1] = 0xff
    expect(codes(inspectWasmModule(bytes, 'bad.wasm').problems)).toEqual(['ERR_AGENTOS_WASM_INVALID'])
  })

  it('rejects a file that is not WebAssembly and names its first bytes', () => {
    const script = inspectWasmModule(Buffer.from('#!/bin/sh\necho hi\n'), 'tool.sh')
    expect(script.facts.layer).toBe('none')
    expect(codes(script.problems)).toEqual(['ERR_AGENTOS_WASM_MAGIC'])
    expect(script.problems[0]!.message).toContain('23 21 2f 62 69 6e 2f 73 ("#!/bin/s")')
    expect(script.problems[0]!.message).toContain('script (/bin/sh)')

    const elf = inspectWasmModule(Buffer.from('7f454c4602010100', 'hex'), 'a.out')
    expect(elf.problems[0]!.message).toContain('7f 45 4c 46 02 01 01 00')
    expect(elf.problems[0]!.message).toContain('native ELF binary')

    expect(inspectWasmModule(Buffer.alloc(0), 'empty.wasm').problems[0]).toMatchObject({
      code: 'ERR_AGENTOS_WASM_MAGIC',
      message: 'empty.wasm is empty, not a WebAssembly module',
    })
  })

  it('warns about an import from an unknown module, naming module and field', async () => {
    const {facts, problems} = await inspect(UNKNOWN_IMPORT)
    expect(facts.imports).toEqual([{module: 'env', names: ['bar', 'foo']}])
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({code: 'WARN_AGENTOS_WASM_UNKNOWN_IMPORT', severity: 'warning'})
    expect(problems[0]!.message).toContain('env.bar, env.foo from module "env"')
  })

  it('accepts the agentOS host modules with an info note each', async () => {
    const {facts, problems} = await inspect(HOST_IMPORT)
    expect(facts.imports.map((group) => group.module)).toEqual([
      'host_fs',
      'host_net',
      'wasi_snapshot_preview1',
    ])
    expect(problems.map((p) => [p.code, p.severity])).toEqual([
      ['INFO_AGENTOS_WASM_HOST_IMPORT', 'info'],
      ['INFO_AGENTOS_WASM_HOST_IMPORT', 'info'],
    ])
    expect(problems[1]!.message).toContain('host_net (host_net.net_send)')
  })

  it('accepts wasi_unstable like preview1', async () => {
    const {facts, problems} = await inspect(UNSTABLE)
    expect(problems).toEqual([])
    expect(facts.imports).toEqual([{module: 'wasi_unstable', names: ['fd_write']}])
  })

  it('warns when no memory is exported', async () => {
    const {facts, problems} = await inspect(NO_MEMORY)
    expect(facts.memory).toBeUndefined()
    expect(facts.exports.memory).toBe(false)
    expect(codes(problems)).toEqual(['WARN_AGENTOS_WASM_NO_MEMORY'])
  })

  it('lists a long import list shortly', async () => {
    const fields = Array.from({length: 8}, (_, i) => `(import "env" "f${i}" (func))`).join('\n')
    const {problems} = await inspect(
      `(module ${fields} (memory (export "memory") 1) (func (export "_start")))`,
    )
    expect(problems[0]!.message).toContain('env.f0, env.f1, env.f2, env.f3, env.f4 and 3 more')
  })

  it('never throws on arbitrary bytes after the header', () => {
    for (let seed = 0; seed < 200; seed++) {
      const bytes = Buffer.alloc(8 + (seed % 40))
      Buffer.from('0061736d01000000', 'hex').copy(bytes)
      for (let i = 8; i < bytes.length; i++) bytes[i] = (seed * 31 + i * 17) & 0xff
      const {problems} = inspectWasmModule(bytes, 'fuzz.wasm')
      expect(problems.length).toBeGreaterThan(0)
    }
  })
})
