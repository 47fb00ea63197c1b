import type {PackResult} from '../../pack/types.js'
import {formatBytes, table} from './text.js'

/** Human output of `pack`. */
export function renderPack(result: PackResult): string {
  const out: string[] = []
  out.push(`packed ${result.npmName}@${result.version} → ${result.out}`)
  if (result.current) out.push(`  current: ${result.current} → ${result.version}`)
  out.push(`  digest:   ${result.digest}`)
  out.push(`  closure:  ${result.packages} packages, ${result.files} files, ${formatBytes(result.bytes)}`)
  out.push('  commands:')
  out.push(
    table(
      result.commands.map((c) => [c.name, c.entry]),
      '    ',
    ),
  )
  for (const native of result.pruned) {
    out.push(`  pruned:   ${native.package} ${native.path} (${native.kind}, ${formatBytes(native.bytes)})`)
  }
  for (const file of result.closure.leftOutFiles) {
    out.push(
      `  left out: ${file.path} (${formatBytes(file.bytes)}): the package's own agentOS archive (--keep-aospkg keeps it)`,
    )
  }
  if (result.pruned.length > 0) out.push(`  pruned ${formatBytes(result.prunedBytes)} of native code`)
  if (result.snapshotBundle) {
    const {path, from, bytes} = result.snapshotBundle
    out.push(
      `  snapshot: ${path} (from ${from}, ${formatBytes(bytes)}): the agent SDK bundle the runtime loads`,
    )
  }
  for (const warning of result.warnings) out.push(`  warning ${warning.code}: ${warning.message}`)
  if (result.tar) out.push(`  tarball:  ${result.tar.path} (sha256 ${result.tar.sha256})`)
  if (result.aospkg) out.push(`  aospkg:   ${result.aospkg.path} (sha256 ${result.aospkg.sha256})`)
  return out.join('\n')
}
