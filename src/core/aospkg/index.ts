/**
 * Reading and writing `.aospkg` archives: the container codec, a positional reader, a version 1
 * writer, extraction, and the snapshot bridge that lets every command read an archive like a
 * package directory.
 */
export type {ContainerFacts} from './snapshot.js'
export {readAospkgPackage, readPackageFile, snapshotFromArchive, WRAPPED_AOSPKG} from './snapshot.js'
export type {ExtractedAospkg} from './extract.js'
export {extractAospkg} from './extract.js'
export type {
  AospkgAgent,
  AospkgEntry,
  AospkgEntryKind,
  AospkgHeader,
  AospkgManifest,
  AospkgProvides,
} from './format.js'
export {
  AOSPKG_HEADER_BYTES,
  AOSPKG_MAGIC,
  AOSPKG_MAX_ENTRIES,
  AOSPKG_VERSIONS,
  decodeHeader,
  decodeIndex,
  decodeManifest,
  encodeHeader,
  encodeIndex,
  encodeManifest,
} from './format.js'
export type {ManifestCore} from './manifest.js'
export {
  canonicalManifestJson,
  canonicalManifestText,
  manifestFromJson,
  renderManifestText,
} from './manifest.js'
export type {AospkgArchive, ByteSource} from './reader.js'
export {
  bufferSource,
  fileSource,
  hasAospkgMagic,
  isAospkgFile,
  openAospkg,
  openAospkgFile,
  readAospkgManifest,
} from './reader.js'
export type {ArchiveTargetOptions, OutputFormat, WriteAospkgOptions, WrittenAospkg} from './writer.js'
export {
  archivePathFor,
  buildAospkgManifest,
  checkArchiveTarget,
  OUTPUT_FORMATS,
  writeAospkg,
} from './writer.js'
