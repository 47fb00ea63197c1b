/**
 * Reads `.aospkg` archives with positional reads only: the header and chunk 1 to learn what a
 * package is, chunk 2 when its entries are needed, and single file ranges of the tar on demand.
 * Nothing ever loads the whole archive (the coreutils one is 67 MB).
 */
import {open} from 'node:fs/promises'
import {AgentosError} from '../errors.js'
import {
  AOSPKG_HEADER_BYTES,
  type AospkgEntry,
  type AospkgHeader,
  type AospkgManifest,
  decodeHeader,
  decodeIndex,
  decodeManifest,
} from './container.js'

/** Random-access bytes: an open file, or a buffer already in memory. */
export interface ByteSource {
  readonly size: number
  /** Exactly `length` bytes at `position` (the caller keeps ranges inside `size`). */
  read(position: number, length: number, into?: Buffer): Promise<Buffer>
  close(): Promise<void>
}

/** Opens a file as a {@link ByteSource}. */
export async function fileSource(path: string): Promise<ByteSource> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new AgentosError(
      error.code === 'ENOENT' ? 'ERR_AGENTOS_TARGET_NOT_FOUND' : 'ERR_AGENTOS_TARGET_UNREADABLE',
      error.code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${error.code}`,
      {hint: 'Pass a readable .aospkg file.', path, cause: error},
    )
  })
  const {size} = await handle.stat()
  return {
    size,
    async read(position, length, into) {
      const buffer = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length)
      let done = 0
      while (done < length) {
        const {bytesRead} = await handle.read(buffer, done, length - done, position + done)
        if (bytesRead === 0) {
          throw new AgentosError(
            'ERR_AGENTOS_AOSPKG_CHANGED',
            `${path} ended at byte ${position + done}, before the ${size} bytes it had when opened`,
            {hint: 'Something rewrote the archive while it was read; try again.', path},
          )
        }
        done += bytesRead
      }
      return buffer
    },
    close: () => handle.close(),
  }
}

/** Wraps bytes in memory as a {@link ByteSource}. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    size: buffer.length,
    read: async (position, length) => buffer.subarray(position, position + length),
    close: async () => undefined,
  }
}

/** An opened archive: header and manifest decoded, index and file contents read on demand. */
export interface AospkgArchive {
  header: AospkgHeader
  manifest: AospkgManifest
  /** Schema version of chunk 1. */
  manifestSchema: number
  /** Chunk 2, decoded and checked (read once, on first call). */
  index(): Promise<AospkgEntry[]>
  /** Schema version of chunk 2 (after {@link index}). */
  indexSchema?: number
  /** Up to `limit` bytes from the start of a file entry. */
  head(entry: AospkgEntry, limit: number): Promise<Buffer>
  /** Calls `onChunk` for consecutive pieces of a file entry, reading through `buffer`. */
  stream(entry: AospkgEntry, buffer: Buffer, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void>
  close(): Promise<void>
}

/**
 * Opens an archive and decodes its header and manifest (chunk 1 only, as the runtime does when it
 * projects commands). The caller closes it.
 *
 * @throws AgentosError `ERR_AGENTOS_AOSPKG_*` for any container defect.
 */
export async function openAospkg(source: ByteSource, path?: string): Promise<AospkgArchive> {
  try {
    const header = decodeHeader(
      await source.read(0, Math.min(AOSPKG_HEADER_BYTES, source.size)),
      source.size,
      path,
    )
    const chunk1 = await source.read(AOSPKG_HEADER_BYTES, header.manifestLength)
    const {schemaVersion, manifest} = decodeManifest(chunk1, path)
    let entries: Promise<AospkgEntry[]> | undefined
    const archive: AospkgArchive = {
      header,
      manifest,
      manifestSchema: schemaVersion,
      index() {
        entries ??= source.read(header.indexStart, header.indexLength).then((chunk2) => {
          const decoded = decodeIndex(chunk2, header.fileSize - header.tarStart, path)
          archive.indexSchema = decoded.schemaVersion
          return decoded.entries
        })
        return entries
      },
      async head(entry, limit) {
        const length = Math.min(limit, entry.size)
        return Buffer.from(await source.read(header.tarStart + entry.offset, length))
      },
      async stream(entry, buffer, onChunk) {
        const start = header.tarStart + entry.offset
        for (let done = 0; done < entry.size;) {
          const length = Math.min(buffer.length, entry.size - done)
          await onChunk(await source.read(start + done, length, buffer))
          done += length
        }
      },
      close: () => source.close(),
    }
    return archive
  } catch (error) {
    await source.close()
    throw error
  }
}

/** Opens an `.aospkg` file by path; see {@link openAospkg}. */
export async function openAospkgFile(path: string): Promise<AospkgArchive> {
  return openAospkg(await fileSource(path), path)
}

/** Reads only the header and manifest of an `.aospkg` file. */
export async function readAospkgManifest(
  path: string,
): Promise<{header: AospkgHeader; manifest: AospkgManifest; schemaVersion: number}> {
  const archive = await openAospkgFile(path)
  try {
    return {header: archive.header, manifest: archive.manifest, schemaVersion: archive.manifestSchema}
  } finally {
    await archive.close()
  }
}

/** True when the file starts with the `.aospkg` magic (a cheap 4-byte sniff). */
/**
 * Whether a file is to be read as an `.aospkg`: by its name, else by its magic (an unreadable file
 * is not one; reading it fails later with its own error).
 */
export async function isAospkgFile(path: string): Promise<boolean> {
  return path.endsWith('.aospkg') || hasAospkgMagic(path).catch(() => false)
}

export async function hasAospkgMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const bytes = Buffer.alloc(4)
    const {bytesRead} = await handle.read(bytes, 0, 4, 0)
    return bytesRead === 4 && bytes[0] === 0x89 && bytes[1] === 0x41 && bytes[2] === 0x4f && bytes[3] === 0x53
  } finally {
    await handle.close()
  }
}
