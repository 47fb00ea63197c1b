/**
 * The ABI shared by the host layer's modules: WASI errno values, the agentOS libc's descriptor tag,
 * guest memory access and preopens. A leaf, so imports.ts and process.ts need not import each other.
 */

/** A guest directory mapped to a host directory. */
export interface Preopen {
  guest: string
  host: string
  /** Writes are refused (the package mounts). */
  readOnly?: boolean
}

/** WASI errno values used by the host layer. */
export const ERRNO = {
  success: 0,
  badf: 8,
  child: 12,
  inval: 28,
  noent: 44,
  nosys: 52,
  notsock: 57,
  range: 68,
  srch: 71,
} as const

/** The descriptor tag of the agentOS libc's hidden preopens. */
export const FD_TAG = 0x40000000

/** Memory access for host functions; valid once the instance is bound. */
export interface GuestMemory {
  view(): DataView
  bytes(): Uint8Array
  /** UTF-8 text at `ptr`, `len` bytes. */
  text(ptr: number, len: number): string
  /** Writes a u32 (little-endian) at `ptr`. */
  u32(ptr: number, value: number): void
}
