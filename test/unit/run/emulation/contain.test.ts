import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {containPaths} from '../../../../src/run/emulation/wasi/contain.js'

// The WASI path layer on its own: what it answers before node:wasi is called at all.
let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentos-contain-'))
})
afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

/** `name` behind the layer over one page of memory, recording what reaches node:wasi. */
function layer(name: 'path_create_directory' | 'path_symlink') {
  const memory = new WebAssembly.Memory({initial: 1})
  const calls: unknown[][] = []
  const raw = {
    [name]: (...args: unknown[]) => {
      calls.push(args)
      return 0
    },
  }
  const wrapped = containPaths(raw, [{guest: '/', host: root}], () => memory)
  return {bytes: new Uint8Array(memory.buffer), calls, call: wrapped[name]!}
}

/** path_create_directory(fd, ptr, len) behind the layer, with `path` written at offset 100. */
function mkdirCall(path: Uint8Array, ptr = 100, len = path.length) {
  const {bytes, calls, call} = layer('path_create_directory')
  bytes.set(path, 100)
  return {result: call(3, ptr, len), calls}
}

describe('the WASI path layer', () => {
  it('passes a UTF-8 path on, a leading U+FEFF kept', () => {
    const {result, calls} = mkdirCall(Buffer.from('\ufeffdir', 'utf8'))
    expect(result).toBe(0)
    expect(calls).toHaveLength(1)
  })

  it('answers EILSEQ for bytes that are not UTF-8, and never calls node:wasi', () => {
    const {result, calls} = mkdirCall(Uint8Array.from([0x62, 0xff, 0x61, 0x64]))
    expect(result).toBe(25)
    expect(calls).toEqual([])
  })

  it('answers EFAULT for a path outside the memory, a negative (past 2 GiB) pointer included', () => {
    expect(mkdirCall(Buffer.from('x'), 65_530, 10).result).toBe(21)
    expect(mkdirCall(Buffer.from('x'), -8, 4).result).toBe(21)
  })

  it('answers EINVAL for a NUL in a path', () => {
    expect(mkdirCall(Buffer.from('up\0x')).result).toBe(28)
  })
})

describe("a link's text", () => {
  it('is held to the same rules: EILSEQ for bytes that are not UTF-8, EINVAL for a NUL', () => {
    const {bytes, calls, call} = layer('path_symlink')
    bytes.set(Buffer.from('link'), 200)
    bytes.set(Uint8Array.from([0x61, 0xff]), 100)
    expect(call(100, 2, 3, 200, 4)).toBe(25)
    bytes.set(Buffer.from('a\0b'), 100)
    expect(call(100, 3, 3, 200, 4)).toBe(28)
    expect(calls).toEqual([])
    bytes.set(Buffer.from('target'), 100)
    expect(call(100, 6, 3, 200, 4)).toBe(0)
    expect(calls).toHaveLength(1)
  })
})
