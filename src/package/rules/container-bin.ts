/**
 * What the analyzer checks only for archives. The runtime projects an archive's commands from
 * chunk 1, not from `package.json` (the `@agentos-software/*` archives have none), so chunk 1 is
 * the command list; a `package.json` inside must agree with it.
 */
import {compareBytes} from '../../format/byte-order.js'
import type {Problem} from '../../errors.js'
import {type BinMap, commandNameIssue, normalizeBin} from '../../format/bin-map.js'
import {normalizePackagePath} from '../../format/paths.js'
import type {PackageSnapshot} from '../snapshot.js'
import type {ContainerFacts} from '../snapshot.js'

const FIELD = 'package.aospkg#commands'

/**
 * The command list of an archive with its problems: names the runtime cannot link, entries that
 * leave the package, repeated names, a `package.json` bin map that disagrees with chunk 1, and man
 * pages or a snapshot bundle that chunk 1 names but the tree lacks. `source` is the package.json's
 * when there is one (so an archive and its directory analyze alike), else `aospkg`.
 */
export function containerBin(
  container: ContainerFacts,
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  binDirEntries: readonly string[],
): BinMap {
  const problems: Problem[] = []
  const commands = archiveCommands(container, problems)

  for (const page of container.manifest.manPages) {
    checkNamed(snapshot, `share/man/${page.section}/${page.page}`, 'man page', problems)
  }
  if (container.manifest.snapshotBundlePath !== undefined) {
    checkNamed(
      snapshot,
      container.manifest.snapshotBundlePath.replace(/^\/+/, ''),
      'snapshot bundle',
      problems,
    )
  }

  if (!packageJson) return {commands, source: 'aospkg', problems}
  const declared = normalizeBin(packageJson, binDirEntries)
  problems.push(...declared.problems)
  checkAgreesWithPackageJson(commands, declared.commands, problems)
  return {commands, source: declared.source, problems}
}

/** Chunk 1's commands that the runtime can link, sorted by name. */
function archiveCommands(container: ContainerFacts, problems: Problem[]): BinMap['commands'] {
  const commands: BinMap['commands'] = []
  const seen = new Set<string>()
  for (const {command: name, entry: raw} of container.manifest.commands) {
    const field = `${FIELD}.${name}`
    const nameIssue = commandNameIssue(name)
    if (nameIssue || name.startsWith('_') || name.startsWith('.')) {
      problems.push({
        code: 'ERR_AGENTOS_BIN_NAME_INVALID',
        severity: 'error',
        path: field,
        message: `command name ${JSON.stringify(name)} ${nameIssue ?? 'is hidden and is never linked'}`,
        hint: 'Command names become file names in /opt/agentos/bin: repack with a plain name.',
      })
      continue
    }
    if (seen.has(name)) {
      problems.push({
        code: 'ERR_AGENTOS_AOSPKG_COMMAND_DUPLICATE',
        severity: 'error',
        path: field,
        message: `command "${name}" is listed twice in the archive's manifest`,
        hint: 'Repack the archive; each command is projected once.',
      })
      continue
    }
    seen.add(name)
    const normalized = normalizePackagePath(raw.startsWith('./') ? raw.slice(2) : raw)
    if ('issue' in normalized) {
      problems.push({
        code: 'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
        severity: 'error',
        path: field,
        message: `command "${name}" entry ${JSON.stringify(raw)} is not a path inside the package (${normalized.issue})`,
        hint: 'Repack the archive with entries relative to the package root, e.g. bin/tool.',
      })
      continue
    }
    commands.push({name, entry: normalized.path})
  }
  return commands.sort((a, b) => compareBytes(a.name, b.name))
}

/** One problem naming every command on which chunk 1 and the package.json bin map differ. */
function checkAgreesWithPackageJson(
  commands: BinMap['commands'],
  declared: BinMap['commands'],
  problems: Problem[],
): void {
  const inArchive = new Map(commands.map((c) => [c.name, c.entry]))
  const inPackageJson = new Map(declared.map((c) => [c.name, c.entry]))
  const differences = [
    ...[...inArchive].filter(([name, entry]) => inPackageJson.get(name) !== entry),
    ...[...inPackageJson].filter(([name]) => !inArchive.has(name)),
  ].map(([name]) => name)
  if (differences.length === 0) return
  const show = (map: Map<string, string>, name: string) => (map.has(name) ? map.get(name) : '(none)')
  problems.push({
    code: 'ERR_AGENTOS_AOSPKG_COMMANDS_MISMATCH',
    severity: 'error',
    path: FIELD,
    message: `the archive's commands disagree with package.json bin: ${[...new Set(differences)]
      .sort(compareBytes)
      .map((name) => `${name} (archive ${show(inArchive, name)}, package.json ${show(inPackageJson, name)})`)
      .join(', ')}`,
    hint: 'Repack the archive from the package directory so its manifest matches package.json.',
  })
}

function checkNamed(snapshot: PackageSnapshot, path: string, what: string, problems: Problem[]): void {
  const kind = snapshot.byPath.get(path)?.kind
  if (kind !== undefined && kind !== 'dir') return
  problems.push({
    code: 'ERR_AGENTOS_AOSPKG_MANIFEST_PATH_MISSING',
    severity: 'error',
    path: `package.aospkg#${what === 'man page' ? 'manPages' : 'snapshotBundlePath'}`,
    message: `the archive's manifest names the ${what} /${path}, which is not a file in the archive`,
    hint: 'Repack the archive; the packer derives this list from the files it holds.',
  })
}
