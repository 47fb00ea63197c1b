/** The agent SDK bundle an agent's npm package ships, placed where the runtime reads it. */
import {SNAPSHOT_BUNDLE_FILE} from '../format/paths.js'
import type {OutputFile} from '../output/files.js'
import type {SnapshotBundle} from './types.js'

/**
 * The agent SDK bundle an agent's npm package ships (`dist/sdk-snapshot.js` of the packed package,
 * and its `.sha256` when present), as files placed at the package root, where the runtime reads it.
 */
export function findSnapshotBundle(
  rootOut: string,
  planned: ReadonlyMap<string, OutputFile>,
  inTree: (path: string) => OutputFile | undefined,
): SnapshotBundle | undefined {
  const lookup = (path: string) => planned.get(path) ?? inTree(path)
  const from = `${rootOut}/${SNAPSHOT_BUNDLE_FILE}`
  const found = lookup(from)
  if (!found) return undefined
  const files: OutputFile[] = [{path: SNAPSHOT_BUNDLE_FILE, source: found.source, executable: false}]
  const sum = lookup(`${from}.sha256`)
  if (sum) files.push({path: `${SNAPSHOT_BUNDLE_FILE}.sha256`, source: sum.source, executable: false})
  return {from, files}
}
