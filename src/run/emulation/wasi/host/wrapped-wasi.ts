/**
 * node:wasi's preview1 functions behind the descriptor table: descriptors are translated to
 * node:wasi's, managed ones (pipes, host devices) are answered here, and path calls follow the
 * VM's links from one preopen into another.
 */
import {fstatSync, openSync} from 'node:fs'
import {posix} from 'node:path'
import {ERRNO, type GuestMemory} from './abi.js'
import type {FdTable} from './fd-table.js'
import type {GuestIo, NumFn, Raw} from './guest-io.js'
import type {Pipes} from './pipes.js'
import {DEVICES, type VmPaths} from './vm-paths.js'

const ERRNO_SPIPE = 70

/** The WASI filetype of a host descriptor (character device, directory, regular file). */
function filetypeOf(fd: number): number {
  try {
    const info = fstatSync(fd)
    return info.isCharacterDevice() ? 2 : info.isDirectory() ? 3 : info.isFile() ? 4 : 0
  } catch {
    return 0
  }
}

/** What the wrapped functions consult. */
export interface WrapContext {
  /** node:wasi's functions, untagged. */
  raw: Raw
  memory: GuestMemory
  table: FdTable
  paths: VmPaths
  io: GuestIo
  pipes: Pipes
  /** Before the guest exits: runs the children nobody waited for. */
  beforeExit(): void
}

/**
 * Retries a path call that failed with ENOENT through the preopen the VM path really lands in:
 * `/opt/agentos/bin/ls` links to `../coreutils/bin/ls`, which is another preopen's.
 */
function crossPreopen(ctx: WrapContext, name: string, pathIndex: number, lenIndex: number): NumFn {
  const {raw, memory, paths, io} = ctx
  const fn = raw[name] as NumFn
  return (...args: number[]) => {
    const result = fn(...args)
    if (result !== ERRNO.noent) return result
    const base = paths.guestPathOfPreopen(args[0]!)
    if (base === undefined) return result
    const vmPath = posix.join(base, memory.text(args[pathIndex]!, args[lenIndex]!))
    const resolved = paths.resolveVm(vmPath)
    if (resolved === undefined) return result
    const target = paths.preopenOf(resolved)
    if (!target || (target.fd === args[0] && resolved === vmPath)) return result
    const rest =
      target.guest === '/' ? resolved.slice(1) || '.' : resolved.slice(target.guest.length + 1) || '.'
    const encoded = Buffer.from(rest, 'utf8')
    return io.scratch(encoded.length, (bytes) => {
      bytes.set(encoded, 0)
      const retried = [...args]
      retried[0] = target.fd
      retried[pathIndex] = 0
      retried[lenIndex] = encoded.length
      return fn(...retried)
    })
  }
}

/** Functions whose argument 0 is a descriptor: through the table to node's descriptor. */
function viaTable(table: FdTable, fn: NumFn): NumFn {
  return (fd: number, ...rest: number[]) => {
    const native = table.nativeOf(fd)
    return native === undefined ? ERRNO.badf : fn(native, ...rest)
  }
}

/** The VM path a path call names relative to its directory descriptor (a guest descriptor). */
function vmPathOf(ctx: WrapContext, dirFd: number, ptr: number, len: number): string | undefined {
  const base = ctx.paths.guestPathOfPreopen(ctx.table.nativeOf(dirFd) ?? -1)
  return base === undefined ? undefined : posix.join(base, ctx.memory.text(ptr, len))
}

/** Every `fd_*` and `path_*` function through the table; path_open and path_filestat_get also across preopens and to the devices. */
function pathFunctions(ctx: WrapContext): Raw {
  const {raw, memory, table} = ctx
  const wasi: Raw = {...raw}
  for (const name of Object.keys(raw)) {
    if (name.startsWith('fd_') || name.startsWith('path_'))
      wasi[name] = viaTable(table, raw[name] as NumFn) as never
  }
  const pathOpen = viaTable(table, crossPreopen(ctx, 'path_open', 2, 3))
  // path_open(dirfd, lookupflags, path, len, oflags, rights, inheriting, fdflags, retFd): the VM
  // has no /dev, so the harmless devices are the host's, behind a table descriptor.
  wasi.path_open = ((...args: number[]) => {
    const result = pathOpen(...args)
    if (result !== ERRNO.noent) return result
    const vmPath = vmPathOf(ctx, args[0]!, args[2]!, args[3]!)
    if (vmPath === undefined) return result
    if (!DEVICES.has(vmPath)) return result
    const rights = BigInt(args[5]!)
    const writable = (rights & (1n << 6n)) !== 0n
    const readable = (rights & (1n << 1n)) !== 0n
    const flags = readable && writable ? 'r+' : writable ? 'w' : 'r'
    const fd = table.add({kind: 'host', fd: openSync(vmPath, flags), refs: 1})
    memory.u32(args[8]!, fd)
    return ERRNO.success
  }) as never
  const pathFilestat = viaTable(table, crossPreopen(ctx, 'path_filestat_get', 2, 3))
  // path_filestat_get(dirfd, lookupflags, path, len, retStat): the devices of path_open below.
  wasi.path_filestat_get = ((...args: number[]) => {
    const result = pathFilestat(...args)
    if (result !== ERRNO.noent) return result
    const vmPath = vmPathOf(ctx, args[0]!, args[2]!, args[3]!)
    if (vmPath === undefined || !DEVICES.has(vmPath)) return result
    memory.bytes().fill(0, args[4]!, args[4]! + 64)
    const view = memory.view()
    view.setUint8(args[4]! + 16, 2) // character_device
    view.setBigUint64(args[4]! + 24, 1n, true)
    return ERRNO.success
  }) as never
  return wasi
}

/** fd_fdstat_get and fd_filestat_get of a managed descriptor: a pipe, or a host device. */
function managedStat(ctx: WrapContext, through: Raw, name: 'fd_fdstat_get' | 'fd_filestat_get'): never {
  const {memory, table} = ctx
  const fn = through[name] as NumFn
  return ((guestFd: number, ptr: number, ...rest: number[]) => {
    const desc = table.managed(guestFd)
    if (desc) {
      const view = memory.view()
      const size = name === 'fd_fdstat_get' ? 24 : 64
      memory.bytes().fill(0, ptr, ptr + size)
      const type = desc.kind === 'host' ? filetypeOf(desc.fd) : 0
      if (name === 'fd_fdstat_get') {
        view.setUint8(ptr, type)
        view.setBigUint64(ptr + 8, 0xffffffffn, true)
        view.setBigUint64(ptr + 16, 0xffffffffn, true)
      } else {
        view.setUint8(ptr + 16, type)
        view.setBigUint64(ptr + 24, 1n, true)
      }
      return ERRNO.success
    }
    return fn(guestFd, ptr, ...rest)
  }) as never
}

/** The WASI functions that consult the descriptor table first. */
export function wrapWasi(ctx: WrapContext): Raw {
  const {raw, table, pipes} = ctx
  const wasi = pathFunctions(ctx)
  const through = {...wasi}
  // A child nobody waited for still runs (`cmd > file &` at the end of a script): before exiting.
  wasi.proc_exit = ((code: number) => {
    ctx.beforeExit()
    return (raw.proc_exit as (code: number) => unknown)(code)
  }) as never
  wasi.fd_close = ((fd: number) => table.close(fd)) as never
  wasi.fd_read = ((fd: number, iovs: number, count: number, retN: number) => {
    const desc = table.managed(fd)
    return desc ? pipes.fdRead(desc, iovs, count, retN) : (through.fd_read as NumFn)(fd, iovs, count, retN)
  }) as never
  wasi.fd_write = ((fd: number, iovs: number, count: number, retN: number) => {
    const desc = table.managed(fd)
    return desc ? pipes.fdWrite(desc, iovs, count, retN) : (through.fd_write as NumFn)(fd, iovs, count, retN)
  }) as never
  wasi.fd_fdstat_get = managedStat(ctx, through, 'fd_fdstat_get')
  wasi.fd_filestat_get = managedStat(ctx, through, 'fd_filestat_get')
  const seek = through.fd_seek as (...args: unknown[]) => number
  wasi.fd_seek = ((fd: number, ...rest: unknown[]) =>
    table.managed(fd) ? ERRNO_SPIPE : seek(fd, ...rest)) as never
  return wasi
}
