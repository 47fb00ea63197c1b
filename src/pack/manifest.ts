/** The `agentos-package.json` and `package.json` that `pack` writes, and the source manifest it starts from. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {AgentosError} from '../errors.js'
import {unscopedName} from '../format/bin-map.js'
import {parseJsonDocument} from '../format/json.js'
import {checkManifest} from '../format/manifest.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {sortedMap} from '../output/json-text.js'
import type {PackOptions} from './types.js'

/**
 * The project's own `agentos-package.json`, checked (all but its name, which pack rewrites), or
 * undefined when it has none.
 */
export async function readSourceManifest(rootDir: string): Promise<Record<string, unknown> | undefined> {
  const file = join(rootDir, MANIFEST_FILE)
  const text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const parsed = parseJsonDocument(text, MANIFEST_FILE)
  const problems = parsed.ok ? checkManifest(parsed.value).problems : parsed.problems
  // The name is rewritten by pack (it may be absent in a source manifest); all else must be right.
  const errors = problems.filter(
    (p) => p.severity === 'error' && p.code !== 'ERR_AGENTOS_MANIFEST_NAME_INVALID',
  )
  if (!parsed.ok || errors.length > 0) {
    const first = errors[0] ?? parsed.problems[0]!
    throw new AgentosError('ERR_AGENTOS_PACK_MANIFEST_INVALID', `${file}: ${first.message}`, {
      hint: first.hint,
      path: file,
      details: errors,
    })
  }
  return parsed.value as Record<string, unknown>
}

/**
 * The manifest to write. Without an agent block in the source, `--agent` writes `snapshot: true`
 * only when the package ships the SDK bundle: the runtime gains from the snapshot only with one,
 * and without one it falls back to per-session imports, which is what `false` asks for anyway.
 */
export function buildManifest(
  input: Record<string, unknown> | undefined,
  npmName: string,
  version: string,
  commands: Array<{name: string}>,
  options: PackOptions,
  hasSnapshotBundle: boolean,
): Record<string, unknown> {
  const name = typeof input?.name === 'string' && input.name !== '' ? input.name : unscopedName(npmName)
  let agent = input?.agent as Record<string, unknown> | undefined
  if (options.agent) {
    if (!commands.some((c) => c.name === options.agent)) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_AGENT_NOT_COMMAND',
        `--agent "${options.agent}" is not one of the commands: ${commands.map((c) => c.name).join(', ')}`,
        {hint: 'Name the ACP command, as listed in the package.json "bin" map.'},
      )
    }
    if (agent && agent.acpEntrypoint !== options.agent && !options.force) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_AGENT_CONFLICT',
        `--agent "${options.agent}" differs from the source's agent.acpEntrypoint "${String(agent.acpEntrypoint)}"`,
        {hint: 'Drop --agent to keep the declared entrypoint, or add --force to replace it.'},
      )
    }
    agent = agent
      ? {...agent, acpEntrypoint: options.agent}
      : {acpEntrypoint: options.agent, snapshot: hasSnapshotBundle}
  }
  const manifest: Record<string, unknown> = {name, version}
  if (agent) {
    manifest.agent = {
      acpEntrypoint: agent.acpEntrypoint,
      ...(agent.env ? {env: sortedMap(agent.env as Record<string, string>)} : {}),
      ...(agent.launchArgs ? {launchArgs: agent.launchArgs} : {}),
      snapshot: agent.snapshot === true,
    }
  }
  const provides = input?.provides as Record<string, unknown> | undefined
  if (provides) {
    manifest.provides = {
      ...(provides.env ? {env: sortedMap(provides.env as Record<string, string>)} : {}),
      ...(provides.files ? {files: provides.files} : {}),
    }
  }
  return manifest
}

/** The `package.json` of the package: name, version and the bin map of its commands. */
export function packageJsonFor(
  name: string,
  version: string,
  commands: Array<{name: string; entry: string}>,
) {
  return {name, version, bin: sortedMap(Object.fromEntries(commands.map((c) => [c.name, c.entry])))}
}
