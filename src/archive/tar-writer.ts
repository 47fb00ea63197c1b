/**
 * POSIX ustar member headers for chunk 3, written by hand rather than through a tar library
 * because the index must know the exact byte offset of every member's data before the tar is
 * written. Names that do not fit ustar's 100 + 155 bytes, long link targets and sizes past 8 GiB
 * get a pax `x` record first. Every header is deterministic: uid/gid/mtime 0, no user names.
 */

/** Tar block size. */
export const BLOCK = 512
const USTAR_SIZE_LIMIT = 0o77777777777

/** Bytes to pad `size` up to a whole block. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/** One member as the header builder needs it. */
export interface TarMember {
  /** Package-relative path, without a trailing slash. */
  path: string
  type: 'file' | 'dir' | 'symlink'
  /** Permission bits. */
  mode: number
  size: number
  linkTarget?: string
}

function octal(field: Buffer, offset: number, length: number, value: number): void {
  field.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii')
}

function header(
  name: string,
  prefix: string,
  typeflag: string,
  mode: number,
  size: number,
  linkname = '',
): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100, 'utf8')
  octal(block, 100, 8, mode)
  octal(block, 108, 8, 0)
  octal(block, 116, 8, 0)
  octal(block, 124, 12, size)
  octal(block, 136, 12, 0)
  block.write(typeflag, 156, 1, 'ascii')
  block.write(linkname, 157, 100, 'utf8')
  block.write('ustar\0', 257, 6, 'ascii')
  block.write('00', 263, 2, 'ascii')
  block.write(prefix, 345, 155, 'utf8')
  // The checksum is computed with its own field read as eight spaces.
  block.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii')
  return block
}

/** Splits a name into ustar `prefix` and `name`, or returns undefined when it cannot fit. */
function splitName(name: string): {prefix: string; name: string} | undefined {
  if (Buffer.byteLength(name) <= 100) return {prefix: '', name}
  for (let at = name.indexOf('/'); at > 0; at = name.indexOf('/', at + 1)) {
    const prefix = name.slice(0, at)
    const rest = name.slice(at + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') {
      return {prefix, name: rest}
    }
  }
  return undefined
}

/** A pax record `"<len> key=value\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let length = Buffer.byteLength(body)
  while (String(length).length + Buffer.byteLength(body) !== length) {
    length = String(length).length + Buffer.byteLength(body)
  }
  return `${length}${body}`
}

/** Cuts a UTF-8 string to at most `bytes` bytes without splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  let out = text
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1)
  return out
}

/**
 * The header block(s) that precede a member's data: one ustar header, preceded by a pax header and
 * its data when the name, link target or size does not fit ustar.
 */
export function memberHeader(member: TarMember): Buffer {
  const fullName = member.type === 'dir' ? `${member.path}/` : member.path
  const typeflag = member.type === 'dir' ? '5' : member.type === 'symlink' ? '2' : '0'
  const size = member.type === 'file' ? member.size : 0
  const link = member.linkTarget ?? ''
  const split = splitName(fullName)
  const records: string[] = []
  if (!split) records.push(paxRecord('path', fullName))
  if (Buffer.byteLength(link) > 100) records.push(paxRecord('linkpath', link))
  if (size > USTAR_SIZE_LIMIT) records.push(paxRecord('size', String(size)))
  const main = header(
    split?.name ?? truncateUtf8(fullName, 100),
    split?.prefix ?? '',
    typeflag,
    member.mode & 0o7777,
    size > USTAR_SIZE_LIMIT ? 0 : size,
    truncateUtf8(link, 100),
  )
  if (records.length === 0) return main
  const data = Buffer.from(records.join(''))
  const paxName = truncateUtf8(`PaxHeader/${fullName.replace(/\/$/, '').split('/').pop()}`, 100)
  return Buffer.concat([
    header(paxName, '', 'x', 0o644, data.length),
    data,
    Buffer.alloc(padding(data.length)),
    main,
  ])
}
