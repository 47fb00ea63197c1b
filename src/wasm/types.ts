/**
 * The shapes `assemble-wasm` takes and returns, shared by the assembler, the `--check` mode, the
 * renderer and the public API.
 */
import type {Problem} from '../errors.js'
import type {OutputFormat, WrittenAospkg} from '../output/write-aospkg.js'
import type {WasmFacts} from './module.js'

/** Options of {@link assembleWasm}. */
export interface AssembleOptions {
  /** `.wasm` files, directories (their `*.wasm` files) or globs, relative to `cwd`. */
  inputs?: readonly string[]
  /**
   * Explicit command → module mappings: an object, or `name=path` strings as given to `--command`.
   * Several names may share one module (a multicall binary picks the applet from argv[0]).
   */
  commands?: Readonly<Record<string, string>> | readonly string[]
  /** npm package name (else discovered from package.json / Cargo.toml). */
  name?: string
  /** Package version (else discovered). */
  version?: string
  /** Output directory, relative to `cwd` (default `<project>/dist/package`). */
  out?: string
  /** Globs, relative to the project root, of extra files copied into the package. */
  include?: readonly string[]
  /** Replace a non-empty output directory that is not an earlier package output. */
  force?: boolean
  /** Directory the project metadata is searched from (default: `cwd`). */
  project?: string
  /** Base of relative paths (default: `process.cwd()`). */
  cwd?: string
  /**
   * `dir` (default): the package directory; `aospkg`: `<out>.aospkg` instead of it (an `out`
   * ending in `.aospkg` names the archive); `both`: the directory and `<out>.aospkg` beside it.
   */
  format?: OutputFormat
}

/** One command of an assembled (or checked) package. */
export interface AssembledCommand {
  name: string
  /** Package-relative entry (`bin/<name>`). */
  entry: string
  /** Where the module came from, as shown to the user. */
  source: string
  size: number
  sha256: string
  facts: WasmFacts
}

/** Counts of problems by severity. */
export interface ProblemSummary {
  errors: number
  warnings: number
  infos: number
}

/** Result of {@link assembleWasm}. `written` is false whenever `ok` is. */
export interface AssembleResult {
  ok: boolean
  written: boolean
  /** npm name written to package.json. */
  name: string
  version: string
  /** Absolute output directory (with format `aospkg`: the archive). */
  out: string
  format: OutputFormat
  /** The archive, with format `aospkg` or `both` (only when written). */
  aospkg?: Pick<WrittenAospkg, 'path' | 'sha256' | 'bytes'>
  /** `sha256:<hex>` tree digest of the package (only when written). */
  digest?: string
  /** The metadata files name and version were read from (absolute). */
  metadataFrom: string[]
  /** Absolute project directory (base of `include`). */
  project: string
  commands: AssembledCommand[]
  /** Package paths of the files copied with `include`. */
  included: string[]
  problems: Problem[]
  summary: ProblemSummary
  files: number
  bytes: number
}

/** One module to become a command: where it is and how to show it. */
export interface Candidate {
  name: string
  /** Absolute path. */
  file: string
  display: string
}

/** What `--check` did with the manifest. */
export type ManifestAction = 'created' | 'present' | 'not-written'

/** Result of {@link checkWasmPackage}. */
export interface CheckResult {
  ok: boolean
  /** Absolute package directory. */
  dir: string
  manifest: ManifestAction
  /** Package-relative paths written (only the manifest, when created). */
  wrote: string[]
  digest?: string
  commands: AssembledCommand[]
  problems: Problem[]
  summary: ProblemSummary
}

/** Options of {@link checkWasmPackage}. */
export interface CheckOptions {
  /** Base of a relative `dir` (default: `process.cwd()`). */
  cwd?: string
}
