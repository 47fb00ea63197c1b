/**
 * agentos-toolchain: typed API for building and checking agentOS software packages.
 *
 * @packageDocumentation
 */
export type {Analysis, ClosurePackage, CommandInfo, PackageModel} from './core/analyze.js'
export {analyzePackage} from './core/analyze.js'
export type {
  AospkgArchive,
  AospkgEntry,
  AospkgManifest,
  ExtractedAospkg,
  OutputFormat,
  WriteAospkgOptions,
  WrittenAospkg,
} from './core/aospkg/index.js'
export {extractAospkg, openAospkgFile, readAospkgPackage, writeAospkg} from './core/aospkg/index.js'
export type {
  AssembledCommand,
  AssembleOptions,
  AssembleResult,
  CheckOptions,
  CheckResult,
} from './core/assemble-wasm.js'
export {assembleWasm, checkWasmPackage} from './core/assemble-wasm.js'
export type {AgentosErrorOptions, Problem, Severity} from './core/errors.js'
export {AgentosError, EXIT_FAILED, EXIT_USAGE, isAgentosError} from './core/errors.js'
export type {BinMap, BinSource, CommandEntry} from './core/format/bin-map.js'
export {commandNameIssue, normalizeBin, unscopedName} from './core/format/bin-map.js'
export type {HeaderInfo, HeaderKind, Shebang} from './core/format/header.js'
export {detectHeader, HEADER_BYTES, isNativeKind, parseShebangLine} from './core/format/header.js'
export type {
  AgentBlock,
  Manifest,
  ManifestCheck,
  ProvidedFile,
  ProvidesBlock,
} from './core/format/manifest.js'
export {checkManifest, MANIFEST_FILE, ManifestSchema, manifestJsonSchema} from './core/format/manifest.js'
export type {PathIssue} from './core/format/paths.js'
export {checkVmPath, isPosixEnvName, isSafeSegment, normalizePackagePath} from './core/format/paths.js'
export type {ClosureStats, InspectCommand, InspectReport} from './core/inspect.js'
export {inspectPackage} from './core/inspect.js'
export type {NativeFile, PackedPackage, PackOptions, PackReporter, PackResult} from './core/pack/pack.js'
export {pack} from './core/pack/pack.js'
export type {
  EntryKind,
  PackageEntry,
  PackageSnapshot,
  ReadOptions,
  SnapshotOrigin,
} from './core/package-reader.js'
export {readPackage, treeDigest} from './core/package-reader.js'
export type {AgentReport, AgentRunOptions} from './core/run/agent.js'
export {runAgent} from './core/run/agent.js'
export type {CommandRun, RunOptions, VmDescription} from './core/run/run.js'
export {describeVm, runCommandInVm, whichInVm} from './core/run/run.js'
export type {Software, SoftwareDescriptor} from './core/software.js'
export {defineSoftware, flattenSoftware} from './core/software.js'
export type {ValidateOptions, ValidationReport, ValidationSummary} from './core/validate.js'
export {validatePackage} from './core/validate.js'
export {checkSnapshotSafety, type SnapshotCheckResult, type SnapshotFinding} from './core/snapshot/check.js'
