/** The manifest's `agent` block against the package: its ACP command and its snapshot bundle. */
import type {Problem} from '../../errors.js'
import {MANIFEST_FILE, SNAPSHOT_BUNDLE_FILE} from '../../format/paths.js'
import type {CommandInfo} from '../model.js'
import type {PackageSnapshot} from '../snapshot.js'

/**
 * `agent.acpEntrypoint` must name a command (when there is a bin map to look in), and
 * `agent.snapshot: true` wants the snapshot bundle.
 */
export function checkAgent(
  snapshot: PackageSnapshot,
  manifestRaw: Record<string, unknown> | undefined,
  commands: readonly CommandInfo[],
  hasBinMap: boolean,
  problems: Problem[],
): void {
  const agent = manifestRaw?.agent as Record<string, unknown> | undefined
  if (agent && typeof agent.acpEntrypoint === 'string' && agent.acpEntrypoint !== '' && hasBinMap) {
    if (!commands.some((c) => c.name === agent.acpEntrypoint)) {
      problems.push({
        code: 'ERR_AGENTOS_AGENT_ENTRYPOINT_UNKNOWN',
        severity: 'error',
        path: `${MANIFEST_FILE}#agent.acpEntrypoint`,
        message: `agent.acpEntrypoint "${agent.acpEntrypoint}" is not one of the commands (${
          commands.map((c) => c.name).join(', ') || 'none'
        })`,
        hint: 'Name a key of package.json "bin", or add the ACP command to "bin".',
      })
    }
  }
  if (agent?.snapshot === true) checkSnapshotBundle(snapshot, problems)
}

/**
 * `agent.snapshot: true` asks the runtime (0.2.21) to load the agent SDK from the bundle at
 * `<package root>/dist/sdk-snapshot.js` (an archive: its `snapshotBundlePath`). Without one the
 * runtime imports the SDK per session instead, a path that fails for some agents (pi:
 * `'./pkce.js' does not provide an export named 'generatePKCE'`), so the package is runnable but
 * its agent may not open a session.
 */
function checkSnapshotBundle(snapshot: PackageSnapshot, problems: Problem[]): void {
  const hasBundle = snapshot.container
    ? snapshot.container.manifest.snapshotBundlePath !== undefined
    : snapshot.byPath.get(SNAPSHOT_BUNDLE_FILE)?.kind === 'file'
  if (hasBundle) return
  problems.push({
    code: 'WARN_AGENTOS_RUNTIME_SNAPSHOT_BUNDLE_MISSING',
    severity: 'warning',
    path: `${MANIFEST_FILE}#agent.snapshot`,
    message: `agent.snapshot is true but the package has no ${SNAPSHOT_BUNDLE_FILE}: the runtime then imports the agent SDK per session, which fails for some agents`,
    hint: `Ship the agent SDK bundle at ${SNAPSHOT_BUNDLE_FILE} (pack copies it from the agent's npm package when it has one), or set agent.snapshot to false.`,
  })
}
