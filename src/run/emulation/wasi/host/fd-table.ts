/**
 * The guest's descriptor table, in front of node:wasi's: dups, pipes and host devices get an entry
 * here; every other descriptor passes through to node:wasi untouched.
 */
import {closeSync} from 'node:fs'
import {ERRNO, FD_TAG} from './abi.js'

/** A pipe between guest processes: bytes written and not yet read. */
export interface Pipe {
  chunks: Buffer[]
  /** Open write ends (in this process and in children that have not run yet). */
  writers: number
}

/** What a descriptor refers to; shared by dups. */
export type Description =
  | {kind: 'native'; fd: number; refs: number}
  | {kind: 'pipe-read'; pipe: Pipe; refs: number}
  | {kind: 'pipe-write'; pipe: Pipe; refs: number}
  | {kind: 'host'; fd: number; refs: number}

const FIRST_MANAGED_FD = 1 << 20
/** The mark of a guest descriptor that is closed while node:wasi keeps the number open. */
const CLOSED = Symbol('closed')

/** A guest descriptor without the hidden-preopen tag of the agentOS libc. */
export const untagged = (fd: number) => (fd & FD_TAG ? fd & ~FD_TAG : fd)

/** The table: guest descriptor → description, and the next number it hands out. */
export class FdTable {
  private readonly table = new Map<number, Description | typeof CLOSED>()
  private nextFd = FIRST_MANAGED_FD

  /** `closeNative` is node:wasi's `fd_close`. */
  constructor(private readonly closeNative: (fd: number) => number) {}

  /** The entry of a guest descriptor when the table manages it as a dup, pipe or host device. */
  managed(fd: number): Exclude<Description, {kind: 'native'}> | undefined {
    const entry = this.table.get(fd)
    return entry === undefined || entry === CLOSED || entry.kind === 'native' ? undefined : entry
  }

  /** The description of a guest descriptor; native ones get one on first use. */
  describe(fd: number, create = true): Description | undefined {
    const entry = this.table.get(fd)
    if (entry === CLOSED) return undefined
    if (entry) return entry
    if (!create) return undefined
    const desc: Description = {kind: 'native', fd, refs: 1}
    this.table.set(fd, desc)
    return desc
  }

  /** One more descriptor refers to `desc` (a pipe's write end counts its writers). */
  retain(desc: Description): Description {
    desc.refs++
    if (desc.kind === 'pipe-write') desc.pipe.writers++
    return desc
  }

  /** One descriptor fewer refers to `desc`; the last one closes what is behind it. */
  release(desc: Description): void {
    desc.refs--
    if (desc.kind === 'pipe-write') desc.pipe.writers--
    if (desc.refs > 0) return
    if (desc.kind === 'native') {
      // node:wasi would hand 0, 1 or 2 out again for the next open: those stay open underneath,
      // behind a closed mark.
      if (desc.fd > 2) {
        this.closeNative(desc.fd)
        if (this.table.get(desc.fd) === CLOSED) this.table.delete(desc.fd)
      }
    } else if (desc.kind === 'host') closeSync(desc.fd)
  }

  /** `fd_close` of the guest. */
  close(fd: number): number {
    const entry = this.table.get(fd)
    if (entry === CLOSED) return ERRNO.badf
    if (!entry) return this.closeNative(fd)
    this.table.delete(fd)
    // A native number stays taken while a dup still uses the native descriptor, and 0, 1, 2 stay
    // open in node:wasi: either way the guest's number is closed.
    if ((entry.kind === 'native' && entry.fd === fd && entry.refs > 1) || fd <= 2) this.table.set(fd, CLOSED)
    this.release(entry)
    return ERRNO.success
  }

  /** The node:wasi descriptor behind a guest descriptor, or undefined (closed, or a pipe). */
  nativeOf(fd: number): number | undefined {
    const entry = this.table.get(fd)
    if (entry === CLOSED) return undefined
    if (!entry) return fd
    return entry.kind === 'native' ? entry.fd : undefined
  }

  /** A new guest descriptor for `desc` (a host device the table opened). */
  add(desc: Description): number {
    const fd = this.nextFd++
    this.table.set(fd, desc)
    return fd
  }

  /** `dup`: a new managed number, or undefined for a closed descriptor. */
  dup(fd: number): number | undefined {
    const desc = this.describe(untagged(fd))
    if (!desc) return undefined
    return this.add(this.retain(desc))
  }

  /** `fcntl(F_DUPFD, min)`: a managed number of at least `min`. */
  dupMin(fd: number, min: number): number | undefined {
    const desc = this.describe(untagged(fd))
    if (!desc) return undefined
    const newFd = Math.max(this.nextFd++, min)
    this.nextFd = Math.max(this.nextFd, newFd + 1)
    this.table.set(newFd, this.retain(desc))
    return newFd
  }

  /** `dup2`: errno. */
  dup2(oldFd: number, newFd: number): number {
    const [from, to] = [untagged(oldFd), untagged(newFd)]
    const desc = this.describe(from)
    if (!desc) return ERRNO.badf
    if (from === to) return ERRNO.success
    this.retain(desc)
    if (this.table.has(to) || to <= 2) {
      const previous = this.describe(to)
      if (previous) {
        this.table.delete(to)
        this.release(previous)
      }
    }
    this.table.set(to, desc)
    return ERRNO.success
  }

  /** `pipe`: the read and the write end. */
  pipe(): [number, number] {
    const pipe: Pipe = {chunks: [], writers: 1}
    const [r, w] = [this.nextFd++, this.nextFd++]
    this.table.set(r, {kind: 'pipe-read', pipe, refs: 1})
    this.table.set(w, {kind: 'pipe-write', pipe, refs: 1})
    return [r, w]
  }

  /** The host descriptor behind a guest descriptor, given the host's 0, 1, 2 (isatty). */
  hostFd(fd: number, stdio: readonly number[]): number | undefined {
    const desc = this.table.get(untagged(fd))
    if (desc === CLOSED) return undefined
    if (!desc) return untagged(fd) <= 2 ? stdio[untagged(fd)] : undefined
    if (desc.kind === 'native') return desc.fd <= 2 ? stdio[desc.fd] : undefined
    if (desc.kind === 'host') return desc.fd
    return undefined
  }
}
