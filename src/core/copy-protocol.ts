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

/** The job every worker gets: the whole list; a shared counter hands out the next file. */
export interface CopyJob {
  dir: string
  files: CopyTask[]
  /** Int32 slots: next index, stop flag, threads still running. */
  control: SharedArrayBuffer
  /** Skip native code (recognised from the first bytes), except the files in `keep`. */
  pruneNative: boolean
  keep: string[]
}

/** What became of one file. */
export interface CopyOutcome {
  index: number
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
      /** The file it failed on. */
      index: number
      /** Reading the source (the input's fault) or writing the output (the target's). */
      side: 'read' | 'write'
      error: {code?: string; errno?: number; syscall?: string; path?: string; message: string}
    }

export const CONTROL_NEXT = 0
export const CONTROL_STOP = 1
export const CONTROL_ACTIVE = 2
export const CONTROL_SLOTS = 3

/** Outcomes per message: fewer messages, while memory stays bounded. */
export const REPORT_BATCH = 256

/**
 * The mtime of every file and directory of a package output, in seconds (output.ts's FIXED_MTIME
 * is this instant; it lives here because a worker cannot import output.ts's dependencies).
 */
export const FIXED_MTIME_SECONDS = Date.parse('1985-10-26T08:15:00.000Z') / 1000
