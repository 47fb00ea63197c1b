/** The vocabulary of `pack`: its options, steps, progress callbacks and result, and the plan it builds. */
import type {Problem} from '../errors.js'
import type {OutputFile} from '../output/files.js'
import type {CopyTree} from '../output/copy-protocol.js'
import type {OutputFormat, WrittenAospkg} from '../output/write-aospkg.js'
import type {ValidationSummary} from '../package/validate.js'
import type {PackSource} from './source.js'
import type {ArbNode, Closure, LeftOut} from './tree.js'

/** The steps `pack` reports progress for, in order. */
export const PACK_STEPS = {
  resolve: 'Resolve the source and its production closure',
  install: 'Install the closure into a staging directory',
  bins: 'Plan the files and rewrite the bin map',
  copy: 'Copy the closure',
  check: 'Check native code and validate',
  write: 'Write the package into place',
} as const

/** Identifier of a pack step. */
export type PackStep = keyof typeof PACK_STEPS

/** Progress callbacks; `pack` never prints. */
export interface PackReporter {
  start?(step: PackStep): void
  done?(step: PackStep, detail?: string): void
  skip?(step: PackStep, reason: string): void
}

/** Options of {@link pack}. */
export interface PackOptions {
  /** Project directory, `.tgz`/`.tar`, or registry spec. */
  source: string
  /** Where relative paths resolve (default: process.cwd()). */
  cwd?: string
  /** Output: the package dir (flat layout) or the store root (versioned layout). */
  out?: string
  /** `flat` → out is the package; `versioned` → out/<name>/<version> plus out/<name>/current. */
  layout?: 'flat' | 'versioned'
  /** Command to record as `agent.acpEntrypoint`. */
  agent?: string
  /** Replace a foreign non-empty target; override a different declared acpEntrypoint. */
  force?: boolean
  /** Delete native addons/binaries from the closure instead of failing. */
  pruneNative?: boolean
  /**
   * Keep the agentOS archive the packed package ships of itself (`dist/package.aospkg`), which is
   * otherwise left out: the package it holds is what is being packed.
   */
  keepOwnAospkg?: boolean
  /** Install when the local tree is missing or unsatisfied (default true). */
  install?: boolean
  /** Use only the npm cache. */
  offline?: boolean
  /** Prefer cached metadata over revalidating with the registry. */
  preferOffline?: boolean
  /** Registry URL overriding the npm configuration. */
  registry?: string
  /** Also write a deterministic tarball of the package here. */
  tar?: string
  /**
   * `dir` (default): the package directory; `aospkg`: `<out>.aospkg` instead of it (an `out`
   * ending in `.aospkg` names the archive); `both`: the directory and `<out>.aospkg` beside it.
   */
  format?: OutputFormat
  reporter?: PackReporter
}

/** One closure package in the report, with why it was included. */
export interface PackedPackage {
  name: string
  version: string
  path: string
  why: string[]
}

/** A native file removed by `--prune-native`, or found without it. */
export interface NativeFile {
  package: string
  path: string
  kind: string
  bytes: number
}

/** Result of {@link pack}. */
export interface PackResult {
  name: string
  npmName: string
  version: string
  /** The package directory written (with format `aospkg`: the archive). */
  out: string
  format: OutputFormat
  /** The archive, with format `aospkg` or `both`. */
  aospkg?: Pick<WrittenAospkg, 'path' | 'sha256' | 'bytes'>
  layout: 'flat' | 'versioned'
  /** For the versioned layout: the `current` pointer updated to this version. */
  current?: string
  digest: string
  commands: Array<{name: string; entry: string}>
  packages: number
  files: number
  bytes: number
  pruned: NativeFile[]
  prunedBytes: number
  warnings: Problem[]
  /**
   * The package's verdict, as `validate --json` reports it for the output (same problems, same
   * counts): `ok` is always true here, since pack refuses a package with errors.
   */
  validation: {ok: boolean; problems: Problem[]; summary: ValidationSummary}
  /**
   * `lockfile`: the project's lockfile the closure was installed from (exactly, as `npm ci`);
   * `installedBy: 'pnpm'`: read from pnpm's installed tree; `workspaceRoot`: the workspace whose
   * installed tree a member's closure came from.
   */
  source: {
    kind: PackSource['kind']
    spec: string
    installed: boolean
    lockfile?: LockfileName
    installedBy?: 'pnpm'
    workspaceRoot?: string
  }
  closure: {packages: PackedPackage[]; leftOut: LeftOut[]; leftOutFiles: LeftOutFile[]}
  tar?: {path: string; sha256: string; bytes: number}
  /**
   * The agent SDK bundle placed at the package root, where the runtime loads it for
   * `agent.snapshot: true` (`from`: where it was in the closure).
   */
  snapshotBundle?: {path: string; from: string; bytes: number; sha256File?: string}
}

/** A file of the closure that pack left out, and why. */
export interface LeftOutFile {
  /** Package-relative path it would have had. */
  path: string
  bytes: number
  /** `own-aospkg`: the packed package's own agentOS archive (keep it with `keepOwnAospkg`). */
  reason: 'own-aospkg'
}

/** A resolved closure: the package being packed, where its files are, and what it needs. */
export interface Resolved {
  root: ArbNode
  rootDir: string
  /** True when the root is the user's project (files chosen like `npm pack`). */
  project: boolean
  closure: Closure
  /**
   * The project as a node of its own folder, when `root` is a staging copy of it (installed from
   * its lockfile): its own files are listed from here.
   */
  rootFiles?: ArbNode
  /** The lockfile the closure was installed from. */
  lockfile?: LockfileName
  /** `pnpm`: the closure was read from pnpm's installed (isolated, linked) tree. */
  installedBy?: 'pnpm'
  /** The workspace root whose installed tree the closure came from, for a workspace member. */
  workspaceRoot?: string
  /**
   * Files written with other bytes than their source's, by package path: the package.json of
   * workspace packages, their `workspace:` ranges resolved.
   */
  overrides?: Map<string, Uint8Array>
}

/** A project lockfile, in the order `npm ci` reads them. */
export type LockfileName = 'npm-shrinkwrap.json' | 'package-lock.json'

/**
 * The planned files by path, and the lookup of a path in the package trees the copy threads list
 * as they copy them.
 */
export interface FileLookup {
  planned: Map<string, OutputFile>
  /** The file at a package path inside a tree, by path, when the tree has it. */
  inTree(path: string): OutputFile | undefined
  /** True when the package will hold a file at this path. */
  has(path: string): boolean
}

/**
 * The agent SDK bundle to place at the package root (`from`: where it is in the closure), and its
 * `.sha256` when present.
 */
export interface SnapshotBundle {
  from: string
  files: OutputFile[]
}

/** What the plan step decided before anything is written. */
export interface Plan {
  /** The files to write, by path; `trees`: package directories the copy threads list. */
  files: OutputFile[]
  trees: CopyTree[]
  leftOutFiles: LeftOutFile[]
  commands: Array<{name: string; entry: string}>
  warnings: Problem[]
  manifest: Record<string, unknown>
  /** The snapshot bundle, when the manifest asks for the snapshot and the package ships it. */
  placedBundle?: SnapshotBundle
}
