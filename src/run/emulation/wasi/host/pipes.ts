/**
 * Reads and writes of the descriptors the table manages: pipes, whose bytes live in this process,
 * and the host devices behind `/dev/null` and `/dev/zero`.
 */
import {readSync, writeSync} from 'node:fs'
import {ERRNO, type GuestMemory} from './abi.js'
import type {Description, Pipe} from './fd-table.js'
import type {GuestIo} from './guest-io.js'

/** A descriptor of the table that is not node:wasi's. */
type Managed = Exclude<Description, {kind: 'native'}>

/** The pipes of one guest process and `fd_read`/`fd_write` on managed descriptors. */
export class Pipes {
  /** `runProducers` runs the not-yet-run children that write into a pipe. */
  constructor(
    private readonly memory: GuestMemory,
    private readonly io: GuestIo,
    private readonly runProducers: (pipe: Pipe) => void,
  ) {}

  /** Takes up to `max` bytes from a pipe, once its producers have run when it is empty. */
  read(pipe: Pipe, max: number): Buffer {
    if (pipe.chunks.length === 0) this.runProducers(pipe)
    const all = Buffer.concat(pipe.chunks)
    const out = all.subarray(0, max)
    pipe.chunks = all.length > max ? [Buffer.from(all.subarray(max))] : []
    return out
  }

  /** `fd_read` on a managed descriptor: errno. */
  fdRead(desc: Managed, iovs: number, count: number, retN: number): number {
    const {memory, io} = this
    if (desc.kind === 'host') {
      let total = 0
      for (const [ptr, len] of io.iovecs(iovs, count)) {
        const n = readSync(desc.fd, memory.bytes(), ptr, len, null)
        total += n
        if (n < len) break
      }
      memory.u32(retN, total)
      return ERRNO.success
    }
    if (desc.kind !== 'pipe-read') return ERRNO.badf
    const vecs = io.iovecs(iovs, count)
    const data = this.read(
      desc.pipe,
      vecs.reduce((n, [, len]) => n + len, 0),
    )
    let offset = 0
    const bytes = memory.bytes()
    for (const [ptr, len] of vecs) {
      const part = data.subarray(offset, offset + len)
      bytes.set(part, ptr)
      offset += part.length
      if (offset >= data.length) break
    }
    memory.u32(retN, data.length)
    return ERRNO.success
  }

  /** `fd_write` on a managed descriptor: errno. */
  fdWrite(desc: Managed, iovs: number, count: number, retN: number): number {
    const {memory, io} = this
    if (desc.kind === 'host') {
      let total = 0
      for (const [ptr, len] of io.iovecs(iovs, count)) total += writeSync(desc.fd, memory.bytes(), ptr, len)
      memory.u32(retN, total)
      return ERRNO.success
    }
    if (desc.kind !== 'pipe-write') return ERRNO.badf
    const bytes = memory.bytes()
    const data = Buffer.concat(
      io.iovecs(iovs, count).map(([ptr, len]) => Buffer.from(bytes.slice(ptr, ptr + len))),
    )
    desc.pipe.chunks.push(data)
    memory.u32(retN, data.length)
    return ERRNO.success
  }
}
