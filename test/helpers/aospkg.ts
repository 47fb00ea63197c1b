import {AOSPKG_HEADER_BYTES, encodeHeader} from '../../src/archive/container.js'

/** The four parts of an `.aospkg`, as raw bytes. */
export interface ArchiveParts {
  header: Buffer
  chunk1: Buffer
  chunk2: Buffer
  tar: Buffer
}

/** Splits an archive along the lengths its header gives (no checks: tests corrupt these). */
export function splitArchive(bytes: Buffer): ArchiveParts {
  const manifestLength = bytes.readUInt32LE(8)
  const indexLength = bytes.readUInt32LE(12)
  const indexStart = AOSPKG_HEADER_BYTES + manifestLength
  const tarStart = indexStart + indexLength
  return {
    header: bytes.subarray(0, AOSPKG_HEADER_BYTES),
    chunk1: bytes.subarray(AOSPKG_HEADER_BYTES, indexStart),
    chunk2: bytes.subarray(indexStart, tarStart),
    tar: bytes.subarray(tarStart),
  }
}

/** Builds an archive from chunks, with a header whose lengths match them unless overridden. */
export function joinArchive(
  parts: Omit<ArchiveParts, 'header'> & {formatVersion?: number; flags?: number},
): Buffer {
  const header = encodeHeader(parts.formatVersion ?? 1, parts.chunk1.length, parts.chunk2.length)
  if (parts.flags !== undefined) header.writeUInt16LE(parts.flags, 6)
  return Buffer.concat([header, parts.chunk1, parts.chunk2, parts.tar])
}
