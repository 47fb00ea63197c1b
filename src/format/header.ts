/**
 * Executable header detection, exactly as the agentOS runtime dispatches a command: only the
 * first bytes matter, never the file name.
 */

/** The runtime reads this many bytes of a command to decide how to run it (BINPRM_BUF_SIZE). */
export const HEADER_BYTES = 256
/**
 * A PE file is only recognised when its `PE\0\0` signature is found at the offset stored at 0x3c,
 * so readers keep up to this many bytes of files that start with `MZ`.
 */
export const PE_PROBE_BYTES = 4096

/** What a file is, judged by its header. */
export type HeaderKind = 'shebang' | 'wasm' | 'elf' | 'macho' | 'pe' | 'unknown'

/** The parsed first line of a `#!` script, as the kernel splits it. */
export interface Shebang {
  /** Literal interpreter path (never searched on `$PATH`). */
  interpreter: string
  /** The rest of the line as one argument, or undefined; it is never split on whitespace. */
  argument?: string
  /** The line did not end within the header buffer, so the runtime sees it cut short. */
  truncated: boolean
  /** The line ends in CRLF: the runtime keeps the `\r` as part of the interpreter or argument. */
  crlf?: boolean
}

/** Result of {@link detectHeader}. */
export interface HeaderInfo {
  kind: HeaderKind
  /** For `shebang`: the parsed line (interpreter may be empty when the line is malformed). */
  shebang?: Shebang
  /** For `wasm`: core module (`01 00 00 00`), component (`0d 00 01 00`) or another version. */
  wasmLayer?: 'core' | 'component' | 'unknown'
  /** For `wasm`: the four version bytes, as hex. */
  wasmVersion?: string
  /** A UTF-8 byte order mark precedes `#!`: the runtime will not see a shebang. */
  bomShebang?: boolean
  /** For `macho`: a fat (universal) binary. */
  fat?: boolean
}

/** True for kinds that are native machine code and cannot run in agentOS. */
export function isNativeKind(kind: HeaderKind): kind is 'elf' | 'macho' | 'pe' {
  return kind === 'elf' || kind === 'macho' || kind === 'pe'
}

const MACHO_THIN = new Set([0xfeedface, 0xcefaedfe, 0xfeedfacf, 0xcffaedfe])
// Fat headers are big-endian on disk; the byte-swapped forms appear in the wild all the same.
const MACHO_FAT = new Set([0xcafebabe, 0xbebafeca, 0xcafebabf, 0xbfbafeca])

/**
 * Classifies the first bytes of a file. Pass at least {@link HEADER_BYTES} bytes (or the whole
 * file when shorter); for files starting with `MZ`, up to {@link PE_PROBE_BYTES} so the PE
 * signature can be checked.
 */
export function detectHeader(bytes: Uint8Array): HeaderInfo {
  const b = bytes
  if (b.length >= 2 && b[0] === 0x23 && b[1] === 0x21) {
    return {kind: 'shebang', shebang: parseShebangLine(b.subarray(0, HEADER_BYTES))}
  }
  if (b.length >= 5 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf && b[3] === 0x23 && b[4] === 0x21) {
    return {kind: 'unknown', bomShebang: true}
  }
  if (b.length >= 4 && b[0] === 0x00 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d) {
    const version = b.length >= 8 ? Buffer.from(b.subarray(4, 8)).toString('hex') : ''
    const wasmLayer = version === '01000000' ? 'core' : version === '0d000100' ? 'component' : 'unknown'
    return {kind: 'wasm', wasmLayer, wasmVersion: version}
  }
  if (b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) return {kind: 'elf'}
  if (b.length >= 4) {
    const magic = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
    if (MACHO_THIN.has(magic)) return {kind: 'macho', fat: false}
    if (MACHO_FAT.has(magic)) {
      // A Java class file shares 0xcafebabe; its next word holds the class version (major >= 45),
      // where a fat Mach-O holds its small architecture count.
      if (magic === 0xcafebabe && b.length >= 8) {
        const next = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0
        if (next >= 45) return {kind: 'unknown'}
      }
      return {kind: 'macho', fat: true}
    }
  }
  if (b.length >= 0x40 && b[0] === 0x4d && b[1] === 0x5a) {
    const offset = b[0x3c]! | (b[0x3d]! << 8) | (b[0x3e]! << 16) | (b[0x3f]! << 24)
    if (offset >= 0x40 && offset + 4 <= b.length) {
      if (b[offset] === 0x50 && b[offset + 1] === 0x45 && b[offset + 2] === 0 && b[offset + 3] === 0) {
        return {kind: 'pe'}
      }
    }
  }
  return {kind: 'unknown'}
}

/**
 * Parses a `#!` line the way the runtime (and Linux binfmt_script) does: skip blanks after `#!`,
 * the interpreter runs to the next blank, and everything after it, trimmed, is one argument.
 */
export function parseShebangLine(head: Uint8Array): Shebang {
  const text = Buffer.from(head).toString('utf8')
  const newline = text.indexOf('\n')
  const truncated = newline < 0 && head.length >= HEADER_BYTES
  const rawLine = (newline < 0 ? text : text.slice(0, newline)).slice(2)
  const crlf = rawLine.endsWith('\r')
  const trimmed = (crlf ? rawLine.slice(0, -1) : rawLine).replace(/^[ \t]+/, '')
  const match = /^([^ \t]*)[ \t]*(.*)$/.exec(trimmed)!
  const interpreter = match[1]!
  const argument = match[2]!.replace(/[ \t]+$/, '')
  const shebang: Shebang = argument === '' ? {interpreter, truncated} : {interpreter, argument, truncated}
  if (crlf) shebang.crlf = true
  return shebang
}

/** Human name of a header kind, for messages. */
export function describeKind(info: HeaderInfo): string {
  switch (info.kind) {
    case 'shebang':
      return `script (${info.shebang?.interpreter}${info.shebang?.argument ? ` ${info.shebang.argument}` : ''})`
    case 'wasm':
      return info.wasmLayer === 'component' ? 'WebAssembly component' : 'WebAssembly module'
    case 'elf':
      return 'native ELF binary'
    case 'macho':
      return 'native Mach-O binary'
    case 'pe':
      return 'native PE (Windows) binary'
    default:
      return 'unknown'
  }
}

/**
 * The bytes of a file's start that header checks need, copied out of `bytes` (a read buffer that
 * will be reused): {@link HEADER_BYTES}, or {@link PE_PROBE_BYTES} when it starts with `MZ`.
 */
export function copyHead(bytes: Uint8Array): Buffer {
  const keep = bytes[0] === 0x4d && bytes[1] === 0x5a ? PE_PROBE_BYTES : HEADER_BYTES
  return Buffer.from(bytes.subarray(0, Math.min(keep, bytes.length)))
}

/**
 * What kind of native code a package file is ("node addon", or the kind its header names), or
 * undefined when it is not native code. A `.node` file is an addon whatever its bytes say.
 */
export function nativeFileKind(path: string, head: Uint8Array): string | undefined {
  if (path.endsWith('.node')) return 'node addon'
  const header = detectHeader(head)
  return isNativeKind(header.kind) ? describeKind(header) : undefined
}

/**
 * The head of an open file as every header check reads it: the first {@link HEADER_BYTES}, or up
 * to {@link PE_PROBE_BYTES} for a file that starts with `MZ` (whose PE signature lies further in).
 * The one file-head probe of the package reader, `run`'s mount and its command resolution.
 */
export async function readHead(
  handle: {
    read(buffer: Buffer, offset: number, length: number, position: number): Promise<{bytesRead: number}>
  },
  size: number,
): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.min(HEADER_BYTES, size))
  const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
  const head = buffer.subarray(0, bytesRead)
  if (!(head[0] === 0x4d && head[1] === 0x5a) || size <= HEADER_BYTES) return head
  const more = Buffer.alloc(Math.min(PE_PROBE_BYTES, size))
  const read = await handle.read(more, 0, more.length, 0)
  return more.subarray(0, read.bytesRead)
}
