import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startsCommands} from '../../../../src/run/emulation/wasi/spawn-capable.js'
import {ROOT} from '../../../helpers/cli.js'
import {watFileToWasm, watToWasm} from '../../../helpers/wasm.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentos-spawn-capable-'))
})
afterAll(() => rm(dir, {recursive: true, force: true}))

const file = async (name: string, bytes: Uint8Array) => {
  await writeFile(join(dir, name), bytes)
  return join(dir, name)
}

describe('startsCommands', () => {
  it('is true for a module importing host_process proc_spawn_v3 or proc_exec', async () => {
    expect(
      startsCommands(await file('spawn', await watFileToWasm(join(ROOT, 'fixtures/wat/host-spawn.wat')))),
    ).toBe(true)
    const exec = await watToWasm(`(module
      (import "host_process" "proc_exec" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`)
    expect(startsCommands(await file('exec', exec))).toBe(true)
  })

  it('is false for plain WASI modules and host modules that start nothing', async () => {
    expect(
      startsCommands(await file('hello', await watFileToWasm(join(ROOT, 'fixtures/wat/hello.wat')))),
    ).toBe(false)
    expect(
      startsCommands(await file('pipe', await watFileToWasm(join(ROOT, 'fixtures/wat/host-stdio.wat')))),
    ).toBe(false)
  })

  it('reads past its first 64 KiB when the import section ends later', async () => {
    // 8000 distinct function types (about 80 KiB) before the import section.
    const types = Array.from(
      {length: 8000},
      (_, i) =>
        `(type (func (param ${'i32 '.repeat(1 + (i % 9))}i64) (result ${['i32', 'i64', 'f32', 'f64'][i % 4]})))`,
    )
    const spawns = await watToWasm(`(module ${types.join(' ')}
      (import "host_process" "proc_spawn_v3" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`)
    expect(spawns.length).toBeGreaterThan(64 << 10)
    expect(startsCommands(await file('big-types', spawns))).toBe(true)
  })

  it('is true (the safe answer) for a module whose import section cannot be read, or no file', async () => {
    // The preamble, then an import section of one entry whose module name claims 5 bytes of 1.
    const broken = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 3, 1, 5, 0x61])
    expect(startsCommands(await file('broken', broken))).toBe(true)
    expect(startsCommands(join(dir, 'missing'))).toBe(true)
  })
})
