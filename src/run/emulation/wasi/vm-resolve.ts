/**
 * Resolution of a VM path inside the VM, component by component: every symlink met on the way
 * (whatever preopen holds it) is read and its target taken as a VM path, `..` stops at the VM's
 * `/`, so the result names a place inside the VM whatever links and `..` the guest wrote. The
 * host kernel then never meets a link in a directory component (it would follow it on the host).
 *
 * Loaded for every WASM command: no `import … from 'node:fs'` (see the note in run.ts).
 */

const {lstatSync, readlinkSync} = process.getBuiltinModule('node:fs')

/** Links followed before giving up with ELOOP, as Linux's 40. */
export const MAX_LINK_HOPS = 40

/** Where a VM path's host file is, without following links (undefined: outside every mapping). */
export type HostOf = (vmPath: string) => string | undefined

/** The outcome of {@link resolveInVm}: the VM path, or too many links. */
export type VmResolution = {path: string; loop?: undefined} | {path?: undefined; loop: true}

/** The components of a path, `.` and empty ones dropped. */
function componentsOf(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.')
}

/** The link target at a host path, or undefined when it is not a link (or does not exist). */
function linkAt(host: string): string | undefined {
  try {
    return lstatSync(host).isSymbolicLink() ? readlinkSync(host) : undefined
  } catch {
    return undefined
  }
}

/**
 * Resolves `vmPath` (absolute, or relative to `/`) inside the VM: returns an absolute, normalized
 * VM path without links in it, except the last component when `followLast` is false.
 */
export function resolveInVm(vmPath: string, followLast: boolean, hostOf: HostOf): VmResolution {
  const done: string[] = []
  let pending = componentsOf(vmPath)
  let hops = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === '..') {
      done.pop()
      continue
    }
    done.push(part)
    if (pending.length === 0 && !followLast) break
    const host = hostOf(`/${done.join('/')}`)
    const target = host === undefined ? undefined : linkAt(host)
    if (target === undefined) continue
    if (++hops > MAX_LINK_HOPS) return {loop: true}
    done.pop()
    if (target.startsWith('/')) done.length = 0
    pending = [...componentsOf(target), ...pending]
  }
  return {path: `/${done.join('/')}`}
}

/** Joins a directory's VM path and a path relative to it (an absolute one is taken as relative). */
export function joinVm(base: string, path: string): string {
  return `${base}/${path}`
}
