import {gzipSync} from 'node:zlib'

/**
 * Hand-made ustar archives. The `tar` package refuses to write the members these tests need
 * (`..` paths, absolute names, device nodes, links out of the root), so headers are built here
 * byte by byte, exactly as a hostile archive would carry them.
 */

/** Tar type flags: '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' dir, '6' FIFO. */
export type TarType = '0' | '1' | '2' | '3' | '4' | '5' | '6'

/** One member of a crafted archive. */
export interface TarMember {
  name: string
  type?: TarType
  /** File contents (type '0' only). */
  body?: string | Uint8Array
  mode?: number
  linkname?: string
  /** Device numbers for type '3'/'4'. */
  devmajor?: number
  devminor?: number
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`
}

/** One 512-byte ustar header; names longer than 100 bytes use the ustar prefix field. */
export function tarHeader(member: TarMember, size: number): Buffer {
  const header = Buffer.alloc(512)
  const nameBytes = Buffer.from(member.name)
  let name = nameBytes
  let prefix = Buffer.alloc(0)
  if (nameBytes.length > 100) {
    const slash = member.name.lastIndexOf('/', 155)
    if (slash <= 0 || Buffer.byteLength(member.name.slice(slash + 1)) > 100) {
      throw new Error(`tar member name cannot be split into prefix/name: ${member.name.slice(0, 40)}…`)
    }
    prefix = Buffer.from(member.name.slice(0, slash))
    name = Buffer.from(member.name.slice(slash + 1))
  }
  const type = member.type ?? '0'
  name.copy(header, 0)
  header.write(octal(member.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100, 'latin1')
  header.write(octal(0, 8), 108, 'latin1')
  header.write(octal(0, 8), 116, 'latin1')
  header.write(octal(size, 12), 124, 'latin1')
  header.write(octal(499162500, 12), 136, 'latin1')
  header.write('        ', 148, 'latin1')
  header.write(type, 156, 'latin1')
  if (member.linkname) Buffer.from(member.linkname).copy(header, 157, 0, 100)
  header.write('ustar\0', 257, 'latin1')
  header.write('00', 263, 'latin1')
  header.write(octal(member.devmajor ?? 0, 8), 329, 'latin1')
  header.write(octal(member.devminor ?? 0, 8), 337, 'latin1')
  prefix.copy(header, 345)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return header
}

/** A complete archive (with the two zero end blocks); gzipped when `gzip` is set. */
export function craftTar(members: readonly TarMember[], options: {gzip?: boolean} = {}): Buffer {
  const blocks: Buffer[] = []
  for (const member of members) {
    // Only regular files have a body: readers skip none for other types, so one would be read as
    // the next header.
    const body =
      member.body === undefined || (member.type ?? '0') !== '0' ? Buffer.alloc(0) : Buffer.from(member.body)
    blocks.push(tarHeader(member, body.length))
    if (body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512))
    }
  }
  blocks.push(Buffer.alloc(1024))
  const tar = Buffer.concat(blocks)
  return options.gzip ? gzipSync(tar) : tar
}

/** The members of a minimal valid package under npm's `package/` prefix. */
export function validPackageMembers(prefix = 'package/'): TarMember[] {
  return [
    {
      name: `${prefix}package.json`,
      body: '{"name":"t","version":"1.0.0","bin":{"t":"bin/t"}}\n',
    },
    {name: `${prefix}agentos-package.json`, body: '{"name":"t","version":"1.0.0"}\n'},
    {name: `${prefix}bin/t`, body: '#!/usr/bin/env node\nconsole.log(1)\n', mode: 0o755},
  ]
}
