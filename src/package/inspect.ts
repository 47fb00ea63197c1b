import type {ClosurePackage, CommandInfo} from './model.js'
import type {AgentBlock, ProvidesBlock} from '../format/manifest.js'
import {SNAPSHOT_BUNDLE_FILE} from '../format/paths.js'
import {type PackageSnapshot, type SnapshotOrigin} from './snapshot.js'
import {readPackage} from './read.js'
import {packageVerdict, summarize, type ValidationReport} from './validate.js'

/** A command as `inspect` lists it. */
export interface InspectCommand {
  name: string
  entry: string
  kind: CommandInfo['kind']
  description: string
  size: number
  interpreter?: string
}

/** Size figures of the `node_modules` closure. */
export interface ClosureStats {
  packages: number
  files: number
  bytes: number
  /** The 10 largest packages by bytes. */
  largest: ClosurePackage[]
}

/** Result of {@link inspectPackage}. */
export interface InspectReport {
  source: SnapshotOrigin
  name?: string
  version?: string
  npmName?: string
  digest: string
  files: number
  bytes: number
  commands: InspectCommand[]
  agent?: AgentBlock
  /** The agent SDK bundle the runtime loads for `agent.snapshot: true`, when the package has one. */
  snapshotBundle?: {path: string; bytes: number}
  provides?: ProvidesBlock
  closure: ClosureStats
  validation: Omit<ValidationReport, 'target'>
}

/**
 * Describes a package directory, or a `.tgz`/`.tar` holding one (read in place, never extracted):
 * identity, digest, commands, agent, provides, closure statistics and the validation summary.
 */
export async function inspectPackage(target: string): Promise<InspectReport> {
  const snapshot = await readPackage(target, {digest: true})
  const {model, problems} = await packageVerdict(snapshot)
  const {ok, summary} = summarize(problems, model)
  const closureFiles = model.closure.reduce((sum, p) => sum + p.files, 0)
  const closureBytes = model.closure.reduce((sum, p) => sum + p.bytes, 0)
  return {
    source: snapshot.origin,
    name: model.name,
    version: model.version,
    npmName: model.npmName,
    digest: snapshot.digest!,
    files: model.files,
    bytes: model.bytes,
    commands: model.commands.map((c) => ({
      name: c.name,
      entry: c.entry,
      kind: c.kind,
      description: c.description,
      size: c.size,
      ...(c.header?.shebang ? {interpreter: c.header.shebang.interpreter} : {}),
    })),
    agent: model.manifest?.agent,
    ...snapshotBundleOf(snapshot),
    provides: model.manifest?.provides,
    closure: {
      packages: model.closure.length,
      files: closureFiles,
      bytes: closureBytes,
      largest: [...model.closure]
        .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
        .slice(0, 10),
    },
    validation: {ok, problems, summary},
  }
}

/** The SDK bundle of a directory (at its root) or of an archive (its `snapshotBundlePath`). */
function snapshotBundleOf(snapshot: PackageSnapshot): Pick<InspectReport, 'snapshotBundle'> {
  const path = snapshot.container
    ? snapshot.container.manifest.snapshotBundlePath?.replace(/^\/+/, '')
    : SNAPSHOT_BUNDLE_FILE
  const entry = path === undefined ? undefined : snapshot.byPath.get(path)
  return entry?.kind === 'file' ? {snapshotBundle: {path: entry.path, bytes: entry.size}} : {}
}
