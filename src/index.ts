/**
 * agentos-toolchain: typed API for building and checking agentOS software packages.
 *
 * @packageDocumentation
 */
export type {Analysis, ClosurePackage, CommandInfo, PackageModel} from './package/model.js'
export {analyzePackage} from './package/analyze.js'
export type {AospkgEntry, AospkgManifest} from './archive/container.js'
export type {ExtractedAospkg} from './archive/extract.js'
export {extractAospkg} from './archive/extract.js'
export type {AospkgArchive} from './archive/reader.js'
export {openAospkgFile} from './archive/reader.js'
export {readAospkgPackage} from './package/read-aospkg.js'
export type {OutputFormat, WriteAospkgOptions, WrittenAospkg} from './output/write-aospkg.js'
export {writeAospkg} from './output/write-aospkg.js'
export type {
  AssembledCommand,
  AssembleOptions,
  AssembleResult,
  CheckOptions,
  CheckResult,
} from './wasm/types.js'
export {assembleWasm} from './wasm/assemble.js'
export {checkWasmPackage} from './wasm/check.js'
export type {AgentosErrorOptions, Problem, Severity} from './errors.js'
export {AgentosError, EXIT_FAILED, EXIT_USAGE, isAgentosError} from './errors.js'
export type {BinMap, BinSource, CommandEntry} from './format/bin-map.js'
export {commandNameIssue, normalizeBin, unscopedName} from './format/bin-map.js'
export type {HeaderInfo, HeaderKind, Shebang} from './format/header.js'
export {detectHeader, HEADER_BYTES, isNativeKind, parseShebangLine} from './format/header.js'
export type {AgentBlock, Manifest, ManifestCheck, ProvidedFile, ProvidesBlock} from './format/manifest.js'
export {checkManifest} from './format/manifest.js'
export {ManifestSchema, manifestJsonSchema} from './format/manifest-schema.js'
export {MANIFEST_FILE} from './format/paths.js'
export type {PathIssue} from './format/paths.js'
export {checkVmPath, isPosixEnvName, isSafeSegment, normalizePackagePath} from './format/paths.js'
export type {ClosureStats, InspectCommand, InspectReport} from './package/inspect.js'
export {inspectPackage} from './package/inspect.js'
export type {NativeFile, PackedPackage, PackOptions, PackReporter, PackResult} from './pack/types.js'
export {pack} from './pack/pack.js'
export type {
  EntryKind,
  PackageEntry,
  PackageSnapshot,
  ReadOptions,
  SnapshotOrigin,
} from './package/snapshot.js'
export {readPackage} from './package/read.js'
export {treeDigest} from './package/snapshot.js'
export type {AgentReport} from './run/emulation/agent/report.js'
export type {AgentRunOptions} from './run/emulation/agent/agent.js'
export {runAgent} from './run/emulation/agent/agent.js'
export type {CommandRun, RunOptions, VmDescription} from './run/emulation/run.js'
export {describeVm, runCommandInVm, whichInVm} from './run/emulation/run.js'
export type {Software, SoftwareDescriptor} from './software.js'
export {defineSoftware, flattenSoftware} from './software.js'
export type {ValidateOptions, ValidationReport, ValidationSummary} from './package/validate.js'
export {validatePackage} from './package/validate.js'
export {checkSnapshotSafety} from './package/snapshot-safety/check.js'
export type {SnapshotCheckResult, SnapshotFinding} from './package/snapshot-safety/types.js'
