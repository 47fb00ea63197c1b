/** The typed model of a package that the analyzer builds and every command works from. */
import type {Problem} from '../errors.js'
import type {BinSource, CommandEntry} from '../format/bin-map.js'
import type {HeaderInfo} from '../format/header.js'
import type {Manifest} from '../format/manifest.js'

/** A command of the package with what its entry file turned out to be. */
export interface CommandInfo extends CommandEntry {
  /** Header kind of the entry (`missing` when there is no such file). */
  kind: HeaderInfo['kind'] | 'missing' | 'directory' | 'symlink' | 'special'
  /** Human description (`script (/usr/bin/env node)`, `WebAssembly module`). */
  description: string
  size: number
  mode: number
  header?: HeaderInfo
}

/** One npm package of the `node_modules` closure. */
export interface ClosurePackage {
  name: string
  version: string
  /** Package-relative directory (`node_modules/@scope/x`). */
  path: string
  files: number
  bytes: number
}

/** The typed model of a package that every command works from. */
export interface PackageModel {
  /** Name from `agentos-package.json` (else the unscoped npm name). */
  name?: string
  version?: string
  npmName?: string
  manifest?: Manifest
  commands: CommandInfo[]
  binSource: BinSource
  closure: ClosurePackage[]
  files: number
  bytes: number
}

/** Result of {@link analyzePackage}. */
export interface Analysis {
  model: PackageModel
  problems: Problem[]
}
