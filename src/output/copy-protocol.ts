/** What the package copier's main thread and its workers exchange (see copy-pool.ts). */

/** One file to write: a package-relative path and where its bytes come from. */
export interface CopyTask {
  path: string
  /** Absolute source file, or the bytes themselves. */
  source: string | Uint8Array
  /** 0755 or 0644; for a source file, undefined means "as the source is". */
  executable?: boolean
  /** Return the written file as text (package.json and manifests, for the validator). */
  text: boolean
}

/**
 * A package directory a worker lists (pack/walk.ts) and copies itself, so that listing 2,000
 * directories is not a step of its own on the main thread before any copying starts.
 */
export interface CopyTree {
  /** The package's directory. */
  source: string
  /** Its package-relative output directory (`node_modules/x`). */
  out: string
  /** Files of the package (relative to `source`) that are not copied. */
  exclude?: string[]
}

/**
 * The job every worker gets: the whole list, then the trees; a shared counter hands out the next
 * file or tree.
 */
export interface CopyJob {
  dir: string
  files: CopyTask[]
  trees: CopyTree[]
  /** Output paths in `files`, which a tree's walk leaves alone (a command entry, for one). */
  skip: string[]
  /** Int32 slots: next index, stop flag, threads still running. */
  control: SharedArrayBuffer
  /** Skip native code (recognised from the first bytes), except the files in `keep`. */
  pruneNative: boolean
  keep: string[]
}

/** What became of one file. */
export interface CopyOutcome {
  /** Its index in `files`, or -1 for a file found in a tree. */
  index: number
  /** For a file found in a tree: its output path. */
  path?: string
  mode: number
  size: number
  head: Uint8Array
  sha256: string
  skipped?: boolean
  text?: string
}

/** Messages from a worker: batches of outcomes, then at most one failure. */
export type CopyReport =
  | {type: 'copied'; outcomes: CopyOutcome[]}
  | {
      type: 'failed'
      /** The file it failed on: its index in `files`, or -1 and its paths for a file of a tree. */
      index: number
      path?: string
      source?: string
      /** Reading the source (the input's fault) or writing the output (the target's). */
      side: 'read' | 'write'
      error: {code?: string; errno?: number; syscall?: string; path?: string; message: string}
    }
  /** A tree the walk refuses (a symlink out of the package, a cycle): the coded error's parts. */
  | {type: 'refused'; error: {code: string; message: string; hint?: string; path?: string}}

export const CONTROL_NEXT = 0
export const CONTROL_STOP = 1
export const CONTROL_ACTIVE = 2
export const CONTROL_SLOTS = 3

/** Outcomes per message: fewer messages, while memory stays bounded. */
export const REPORT_BATCH = 256

/**
 * The mtime of every file and directory of a package output, in seconds (files.ts's FIXED_MTIME
 * is this instant; it lives here because a worker cannot import files.ts's dependencies).
 */
export const FIXED_MTIME_SECONDS = Date.parse('1985-10-26T08:15:00.000Z') / 1000
