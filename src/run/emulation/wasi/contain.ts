/**
 * The path-checking layer every WASI module runs behind: node:wasi checks only the last component
 * of a path for links, so a guest link in a directory component (`up -> ../../..`, then
 * `up/etc/passwd`) would reach the host. Each `path_*` call has its paths resolved inside the VM
 * here (vm-resolve.ts) and reaches node:wasi as a link-free path relative to the preopen it lands
 * in; directory descriptors remember their VM path for the calls relative to them.
 *
 * Loaded for every WASM command: no `import … from 'node:fs'` (see the note in run.ts).
 */
import type {Preopen} from './host/abi.js'
import {joinVm, resolveInVm} from './vm-resolve.js'

type Fn = (...args: never[]) => unknown
type Call = (...args: unknown[]) => number

// ignoreBOM: a leading U+FEFF is part of the name, not a mark to drop.
const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
const ERRNO_BADF = 8
const ERRNO_FAULT = 21
const ERRNO_ILSEQ = 25
const ERRNO_INVAL = 28
const ERRNO_LOOP = 32
const ERRNO_NAMETOOLONG = 37

/** Where a call takes a path: its directory descriptor, pointer and length, and whether its last link is followed. */
interface PathArg {
  fd: number
  ptr: number
  len: number
  /** Index of the lookupflags argument (bit 0: follow the last link); none: never followed. */
  flags?: number
}

/** A call's outputs in guest memory: `[pointer index, size, or index of the size argument]`. */
type Output = [number, number, 'size-at'?]

const SPECS: Record<string, {paths: PathArg[]; outputs?: Output[]; noLastLink?: boolean}> = {
  path_create_directory: {paths: [{fd: 0, ptr: 1, len: 2}]},
  path_filestat_get: {paths: [{fd: 0, ptr: 2, len: 3, flags: 1}], outputs: [[4, 64]]},
  path_filestat_set_times: {paths: [{fd: 0, ptr: 2, len: 3, flags: 1}], noLastLink: true},
  path_link: {
    paths: [
      {fd: 0, ptr: 2, len: 3, flags: 1},
      {fd: 4, ptr: 5, len: 6},
    ],
  },
  path_open: {paths: [{fd: 0, ptr: 2, len: 3, flags: 1}], outputs: [[8, 4]], noLastLink: true},
  path_readlink: {
    paths: [{fd: 0, ptr: 1, len: 2}],
    outputs: [
      [3, 4, 'size-at'],
      [5, 4],
    ],
  },
  path_remove_directory: {paths: [{fd: 0, ptr: 1, len: 2}]},
  path_rename: {
    paths: [
      {fd: 0, ptr: 1, len: 2},
      {fd: 3, ptr: 4, len: 5},
    ],
  },
  path_symlink: {paths: [{fd: 2, ptr: 3, len: 4}]},
  path_unlink_file: {paths: [{fd: 0, ptr: 1, len: 2}]},
}

/** A preopen with node:wasi's descriptor for it (3, 4, … in order). */
interface Numbered extends Preopen {
  fd: number
}

/** The preopens, innermost first, and the host file of a VM path through them. */
export function preopenMap(preopens: readonly Preopen[]): {
  innermost(vmPath: string): Numbered | undefined
  hostOf(vmPath: string): string | undefined
} {
  const byLength = preopens
    .map((p, index) => ({...p, fd: index + 3}))
    .sort((a, b) => b.guest.length - a.guest.length)
  const innermost = (vmPath: string) =>
    byLength.find((p) => p.guest === '/' || vmPath === p.guest || vmPath.startsWith(`${p.guest}/`))
  return {
    innermost,
    hostOf(vmPath) {
      const p = innermost(vmPath)
      if (!p) return undefined
      const rest = p.guest === '/' ? vmPath : vmPath.slice(p.guest.length)
      return rest === '' || rest === '/' ? p.host : `${p.host}${rest}`
    },
  }
}

/**
 * node:wasi's functions with every path resolved inside the VM first. `memory` is the instance's
 * memory once it runs.
 */
export function containPaths<T extends Record<string, Fn>>(
  raw: T,
  preopens: readonly Preopen[],
  memory: () => {buffer: ArrayBuffer} | undefined,
): T {
  const map = preopenMap(preopens)
  const dirs = new Map<number, string>(preopens.map((p, index) => [index + 3, p.guest]))
  // Where each preopen (by its first descriptor) is now: a guest may close one, or renumber
  // another descriptor over it, and a path must never reach the kernel relative to a directory
  // that is not the preopen it was resolved in (its links were never checked).
  const live = new Map<number, number>(preopens.map((_, index) => [index + 3, index + 3]))
  const wrapped: Record<string, Fn> = {...raw}
  for (const [name, spec] of Object.entries(SPECS)) {
    const fn = raw[name] as unknown as Call | undefined
    if (!fn) continue
    wrapped[name] = ((...args: unknown[]) => {
      const buffer = memory()?.buffer
      if (!buffer) return fn(...args)
      const bytes = new Uint8Array(buffer)
      const rewritten: Array<{arg: PathArg; fd: number; text: Buffer}> = []
      let vmPath = ''
      for (const arg of spec.paths) {
        const base = dirs.get(args[arg.fd] as number)
        if (base === undefined) return ERRNO_BADF
        const text = guestPath(buffer, args[arg.ptr] as number, args[arg.len] as number)
        if (typeof text === 'number') return text
        const follow = arg.flags !== undefined && ((args[arg.flags] as number) & 1) === 1
        const resolved = resolveInVm(joinVm(base, text), follow, map.hostOf)
        if (resolved.loop) return ERRNO_LOOP
        if (spec.noLastLink && !follow && isLink(map.hostOf(resolved.path))) return ERRNO_LOOP
        const preopen = map.innermost(resolved.path)!
        const fd = live.get(preopen.fd)
        if (fd === undefined) return ERRNO_BADF
        rewritten.push({
          arg,
          fd,
          text: Buffer.from(relativeTo(preopen.guest, resolved.path), 'utf8'),
        })
        vmPath = resolved.path
      }
      // node:wasi refuses a link to an absolute path, which the VM allows (`ln -s /etc/x y`): the
      // link is made to `.` (node:wasi checks rights and the name as for any link), then swapped
      // for the real target. Every path through it is resolved here, as a VM path.
      // The link's text is held to the rules of a path too (UTF-8, no NUL, in memory).
      const target =
        name === 'path_symlink' ? guestPath(buffer, args[0] as number, args[1] as number) : undefined
      if (typeof target === 'number') return target
      const absoluteTarget = target?.startsWith('/') ? target : undefined
      const size = rewritten.reduce((sum, r) => sum + r.text.length, 0) + (absoluteTarget ? 1 : 0)
      if (size > bytes.length) return ERRNO_NAMETOOLONG
      const result = withScratch(bytes, size, spec.outputs ?? [], args, () => {
        let offset = 0
        for (const {arg, fd, text} of rewritten) {
          bytes.set(text, offset)
          args[arg.fd] = fd
          args[arg.ptr] = offset
          args[arg.len] = text.length
          offset += text.length
        }
        if (absoluteTarget) {
          bytes[offset] = 0x2e
          args[0] = offset
          args[1] = 1
        }
        return fn(...args)
      })
      if (name === 'path_open' && result === 0) {
        dirs.set(new DataView(buffer).getUint32(args[8] as number, true), vmPath)
      }
      if (absoluteTarget && result === 0) return retarget(map.hostOf(vmPath)!, absoluteTarget)
      return result
    }) as Fn
  }
  trackDescriptors(raw, wrapped, dirs, live)
  return wrapped as T
}

/** The path a guest passed, or the errno that refuses it. */
function guestPath(buffer: ArrayBuffer, ptrArg: number, lenArg: number): string | number {
  // i32 arguments arrive signed: a pointer past 2 GiB is negative here.
  const [ptr, len] = [ptrArg >>> 0, lenArg >>> 0]
  if (ptr + len > buffer.byteLength) return ERRNO_FAULT
  // node:wasi would read bytes that are not UTF-8 as U+FFFD and name another file than the
  // guest asked for: refused, as a filesystem of UTF-8 names does.
  let text: string
  try {
    text = utf8.decode(new Uint8Array(buffer, ptr, len))
  } catch {
    return ERRNO_ILSEQ
  }
  // The kernel ends a path at its first NUL, so a component `up2\0` would be checked as a plain
  // name and then reach the kernel as the link `up2`, followed on the host.
  return text.includes('\0') ? ERRNO_INVAL : text
}

/** A VM path relative to the preopen it lands in (`.` for the preopen itself). */
function relativeTo(guest: string, vmPath: string): string {
  if (vmPath === guest) return '.'
  return vmPath.slice(guest === '/' ? 1 : guest.length + 1) || '.'
}

/** fd_close and fd_renumber keep the tables of directory paths and preopen descriptors current. */
function trackDescriptors(
  raw: Record<string, Fn>,
  wrapped: Record<string, Fn>,
  dirs: Map<number, string>,
  live: Map<number, number>,
): void {
  const forget = (fd: number) => {
    for (const [preopen, at] of live) if (at === fd) live.delete(preopen)
  }
  const close = raw.fd_close as unknown as Call | undefined
  if (close) {
    wrapped.fd_close = ((fd: number) => {
      const result = close(fd)
      if (result === 0) {
        dirs.delete(fd)
        forget(fd)
      }
      return result
    }) as Fn
  }
  const renumber = raw.fd_renumber as unknown as Call | undefined
  if (renumber) {
    wrapped.fd_renumber = ((from: number, to: number) => {
      const result = renumber(from, to)
      if (result !== 0 || from === to) return result
      forget(to)
      for (const [preopen, at] of live) if (at === from) live.set(preopen, to)
      const path = dirs.get(from)
      dirs.delete(from)
      if (path === undefined) dirs.delete(to)
      else dirs.set(to, path)
      return result
    }) as Fn
  }
}

/**
 * Runs `call` with the first `size` bytes of guest memory borrowed for the rewritten paths and
 * given back afterwards, except the call's outputs, which may lie in that area.
 */
function withScratch(
  bytes: Uint8Array,
  size: number,
  outputs: Output[],
  args: unknown[],
  call: () => number,
): number {
  const saved = bytes.slice(0, size)
  const result = call()
  const ranges = outputs.map(([ptr, length, sizeAt]) => {
    const start = args[ptr] as number
    const end = start + (sizeAt ? (args[length] as number) : length)
    return {start, data: bytes.slice(start, end)}
  })
  bytes.set(saved, 0)
  for (const {start, data} of ranges) bytes.set(data, start)
  return result
}

const {lstatSync, renameSync, symlinkSync, unlinkSync} = process.getBuiltinModule('node:fs')

const ERRNO_IO = 29

/** Replaces the placeholder link at `host` with one to `target`, in one rename. */
function retarget(host: string, target: string): number {
  const temp = `${host}.agentos-link-${process.pid}`
  try {
    symlinkSync(target, temp)
    renameSync(temp, host)
    return 0
  } catch {
    try {
      unlinkSync(temp)
    } catch {
      // Never made.
    }
    return ERRNO_IO
  }
}

/** Whether a host path is a symlink. */
function isLink(host: string | undefined): boolean {
  if (host === undefined) return false
  try {
    return lstatSync(host).isSymbolicLink()
  } catch {
    return false
  }
}
