/** The result document of `pack`, from what each step decided. */
import {SNAPSHOT_BUNDLE_FILE} from '../format/paths.js'
import type {PackageEntry, PackageSnapshot} from '../package/snapshot.js'
import type {WrittenAospkg} from '../output/write-aospkg.js'
import type {Destination} from './destination.js'
import type {PackSource} from './source.js'
import type {NativeFile, PackResult, Plan, Resolved} from './types.js'

/** What the write step wrote: the archive, the `current` pointer, the tarball, and the output. */
export interface Placed {
  written: WrittenAospkg | undefined
  current: string | undefined
  tar: PackResult['tar']
  out: string
}

/** Everything {@link packResult} reports on. */
export interface PackOutcome {
  source: PackSource
  /** True when the closure was installed into a scratch directory. */
  installed: boolean
  resolved: Resolved
  names: {npmName: string; version: string}
  plan: Plan
  destination: Destination
  snapshot: PackageSnapshot
  fileEntries: PackageEntry[]
  pruned: NativeFile[]
  validation: PackResult['validation']
  placed: Placed
}

/** The result of {@link pack}, its fields in the order of the `--json` document. */
export function packResult(outcome: PackOutcome): PackResult {
  const {source, resolved, plan, destination, snapshot, fileEntries, pruned} = outcome
  const {npmName, version} = outcome.names
  const {closure} = resolved
  const {manifest, commands, warnings, leftOutFiles, placedBundle} = plan
  const {format, layout} = destination
  const {written, current, tar, out} = outcome.placed
  const installed = outcome.installed
  return {
    name: manifest.name as string,
    npmName,
    version,
    out,
    format,
    ...(written ? {aospkg: {path: written.path, sha256: written.sha256, bytes: written.bytes}} : {}),
    layout,
    ...(current ? {current} : {}),
    digest: snapshot.digest!,
    commands,
    packages: closure.nodes.length,
    files: fileEntries.length,
    bytes: fileEntries.reduce((sum, e) => sum + e.size, 0),
    pruned,
    prunedBytes: pruned.reduce((sum, n) => sum + n.bytes, 0),
    warnings,
    validation: outcome.validation,
    source: {
      kind: source.kind,
      spec: source.spec,
      installed,
      ...(resolved.lockfile ? {lockfile: resolved.lockfile} : {}),
      ...(resolved.installedBy ? {installedBy: resolved.installedBy} : {}),
      ...(resolved.workspaceRoot ? {workspaceRoot: resolved.workspaceRoot} : {}),
    },
    closure: {
      packages: closure.nodes.map((n) => ({
        name: n.node.packageName,
        version: n.node.version,
        path: n.out,
        why: n.why,
      })),
      leftOut: closure.leftOut,
      leftOutFiles,
    },
    ...(tar ? {tar} : {}),
    ...(placedBundle
      ? {
          snapshotBundle: {
            path: SNAPSHOT_BUNDLE_FILE,
            from: placedBundle.from,
            bytes: snapshot.byPath.get(SNAPSHOT_BUNDLE_FILE)?.size ?? 0,
            ...(placedBundle.files.length > 1 ? {sha256File: `${SNAPSHOT_BUNDLE_FILE}.sha256`} : {}),
          },
        }
      : {}),
  }
}
