/**
 * Transfers through guest memory: node:wasi reads and writes only into the instance's memory, so
 * the host layer borrows a scratch area at 0 for its own reads and writes of native descriptors.
 */
import type {GuestMemory} from './abi.js'

/** node:wasi's functions, untagged. */
export type Raw = Record<string, (...args: never[]) => unknown>
/** A WASI function on numbers. */
export type NumFn = (...args: number[]) => number

/** Calls a node:wasi function by name. */
export type RawCall = (name: string, ...args: Array<number | bigint>) => number

/** A caller of node:wasi's functions by name. */
export function rawCaller(raw: Raw): RawCall {
  return (name, ...args) => (raw[name] as (...a: unknown[]) => number)(...args)
}

/** Scratch memory, iovecs and whole-descriptor reads and writes through node:wasi. */
export class GuestIo {
  constructor(
    private readonly memory: GuestMemory,
    private readonly call: RawCall,
  ) {}

  /** Runs with a scratch area of guest memory at 0, restored afterwards. */
  scratch<T>(size: number, fn: (bytes: Uint8Array) => T): T {
    const bytes = this.memory.bytes()
    const saved = bytes.slice(0, size)
    try {
      return fn(bytes)
    } finally {
      this.memory.bytes().set(saved, 0)
    }
  }

  /** Scratch bytes for a transfer: 64 KiB, less in a module with a single small page. */
  private chunk(): number {
    return Math.max(16, Math.min(65_536, this.memory.bytes().length - 16))
  }

  /** Reads a native descriptor to its end through node:wasi. */
  readNative(fd: number): Buffer {
    const {memory} = this
    const size = this.chunk()
    return this.scratch(size + 16, () => {
      const parts: Buffer[] = []
      for (;;) {
        memory.u32(0, 16)
        memory.u32(4, size)
        if (this.call('fd_read', fd, 0, 1, 8) !== 0) break
        const n = memory.view().getUint32(8, true)
        if (n === 0) break
        parts.push(Buffer.from(memory.bytes().slice(16, 16 + n)))
      }
      return Buffer.concat(parts)
    })
  }

  /** Writes all of `data` to a native descriptor through node:wasi (stops early on an error). */
  writeNative(fd: number, data: Buffer): void {
    if (data.length === 0) return
    const {memory} = this
    const size = this.chunk()
    this.scratch(size + 16, () => {
      for (let offset = 0; offset < data.length;) {
        const part = data.subarray(offset, offset + size)
        memory.bytes().set(part, 16)
        memory.u32(0, 16)
        memory.u32(4, part.length)
        if (this.call('fd_write', fd, 0, 1, 8) !== 0) return
        const written = memory.view().getUint32(8, true)
        if (written === 0) return
        offset += written
      }
    })
  }

  /** The `[pointer, length]` pairs of an iovec array. */
  iovecs(ptr: number, count: number): Array<[number, number]> {
    const view = this.memory.view()
    return Array.from({length: count}, (_, i) => [
      view.getUint32(ptr + i * 8, true),
      view.getUint32(ptr + i * 8 + 4, true),
    ])
  }
}
