/**
 * The VM's paths over the guest's preopens: which preopen a VM path lands in, its host path, and
 * symlinks followed inside the VM.
 */
import {join} from 'node:path'
import {resolveInVm} from '../vm-resolve.js'
import type {Preopen} from './abi.js'

/** The harmless host devices the VM shows at their own paths: it has no /dev of its own. */
export const DEVICES = new Set(['/dev/null', '/dev/zero'])

/** A preopen with the descriptor node:wasi gives it (3, 4, … in order). */
export interface NumberedPreopen extends Preopen {
  fd: number
}

/** Path mapping between the VM and the host, through the preopens. */
export class VmPaths {
  /** Longest guest path first, so the innermost preopen wins. */
  private readonly byLength: NumberedPreopen[]

  constructor(preopens: readonly Preopen[]) {
    this.byLength = [...preopens]
      .map((p, index) => ({...p, fd: index + 3}))
      .sort((a, b) => b.guest.length - a.guest.length)
  }

  /** The preopen a VM path lands in. */
  preopenOf(vmPath: string): NumberedPreopen | undefined {
    return this.byLength.find(
      (p) => p.guest === '/' || vmPath === p.guest || vmPath.startsWith(`${p.guest}/`),
    )
  }

  /** The host path of a VM path (links not followed). */
  hostOf(vmPath: string | undefined): string | undefined {
    if (vmPath === undefined) return undefined
    const p = this.preopenOf(vmPath)
    if (!p) return undefined
    return join(p.host, p.guest === '/' ? vmPath : vmPath.slice(p.guest.length))
  }

  /**
   * Resolves symlinks inside the VM, component by component (vm-resolve.ts): a link's target is a
   * VM path, whatever preopen it lands in. Undefined when the links loop.
   */
  resolveVm(vmPath: string, followLast = true): string | undefined {
    return resolveInVm(vmPath, followLast, (path) => this.hostOf(path)).path
  }

  /** The guest path of the preopen behind node:wasi descriptor `fd`. */
  guestPathOfPreopen(fd: number): string | undefined {
    return this.byLength.find((p) => p.fd === fd)?.guest
  }
}
