/**
 * The bridge between `agentos-package.json` and chunk 1 of an `.aospkg`.
 *
 * The container keeps the manifest as BARE, which has no room for `$schema`, unknown keys, key
 * order, formatting, or the difference between an absent and an empty `env`/`launchArgs`. So the
 * JSON a reader shows for an archive is the *canonical* rendering of what chunk 1 holds, and the
 * tree digest counts `agentos-package.json` by that canonical rendering too (see
 * {@link canonicalManifestText}). A directory and the archive written from it therefore have the
 * same digest whatever the directory's manifest looks like byte for byte.
 */
import {compareBytes} from '../format/byte-order.js'
import type {AospkgAgent, AospkgManifest, AospkgProvides} from './container.js'

/** The part of a manifest that `agentos-package.json` carries (the rest is derived from the tree). */
export type ManifestCore = Pick<AospkgManifest, 'name' | 'version' | 'agent' | 'provides'>

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

function stringMap(value: unknown, field: string): Record<string, string> | string {
  if (value === undefined) return {}
  if (!isObject(value)) return `${field} is not an object`
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') return `${field}.${key} is not a string`
  }
  return value as Record<string, string>
}

/**
 * Converts a parsed `agentos-package.json` into the container's manifest fields, or says why it
 * cannot be (a field of the wrong type, a missing name or version). `$schema` and unknown keys are
 * dropped: the runtime ignores them and the container cannot hold them.
 */
export function manifestFromJson(value: unknown): {manifest: ManifestCore} | {issue: string} {
  if (!isObject(value)) return {issue: 'the manifest is not a JSON object'}
  const {name, version, agent, provides} = value
  if (typeof name !== 'string' || name === '') return {issue: '"name" is missing or not a non-empty string'}
  if (typeof version !== 'string' || version === '') {
    return {issue: '"version" is missing or not a non-empty string'}
  }
  const manifest: ManifestCore = {name, version}
  if (agent !== undefined) {
    if (!isObject(agent)) return {issue: '"agent" is not an object'}
    if (typeof agent.acpEntrypoint !== 'string' || agent.acpEntrypoint === '') {
      return {issue: '"agent.acpEntrypoint" is missing or empty'}
    }
    const env = stringMap(agent.env, 'agent.env')
    if (typeof env === 'string') return {issue: env}
    const launchArgs = agent.launchArgs ?? []
    if (!Array.isArray(launchArgs) || launchArgs.some((arg) => typeof arg !== 'string')) {
      return {issue: '"agent.launchArgs" is not an array of strings'}
    }
    if (agent.snapshot !== undefined && typeof agent.snapshot !== 'boolean') {
      return {issue: '"agent.snapshot" is not true or false'}
    }
    manifest.agent = {
      acpEntrypoint: agent.acpEntrypoint,
      snapshot: agent.snapshot === true,
      env,
      launchArgs: launchArgs as string[],
    }
  }
  if (provides !== undefined) {
    if (!isObject(provides)) return {issue: '"provides" is not an object'}
    const env = stringMap(provides.env, 'provides.env')
    if (typeof env === 'string') return {issue: env}
    const files = provides.files ?? []
    if (
      !Array.isArray(files) ||
      files.some((f) => !isObject(f) || typeof f.source !== 'string' || typeof f.target !== 'string')
    ) {
      return {issue: '"provides.files" is not an array of {source, target} strings'}
    }
    manifest.provides = {
      env,
      files: (files as Array<{source: string; target: string}>).map(({source, target}) => ({source, target})),
    }
  }
  return {manifest}
}

function sortedEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => compareBytes(a, b)))
}

/**
 * The canonical `agentos-package.json` object of a manifest: the keys in the order `pack` writes
 * them, env maps sorted, and empty `env`/`launchArgs`/`files` left out (BARE cannot tell them from
 * absent ones).
 */
export function canonicalManifestJson(manifest: ManifestCore): Record<string, unknown> {
  const json: Record<string, unknown> = {name: manifest.name, version: manifest.version}
  const agent: AospkgAgent | undefined = manifest.agent
  if (agent) {
    json.agent = {
      acpEntrypoint: agent.acpEntrypoint,
      ...(Object.keys(agent.env).length > 0 ? {env: sortedEnv(agent.env)} : {}),
      ...(agent.launchArgs.length > 0 ? {launchArgs: agent.launchArgs} : {}),
      snapshot: agent.snapshot,
    }
  }
  const provides: AospkgProvides | undefined = manifest.provides
  if (provides) {
    json.provides = {
      ...(Object.keys(provides.env).length > 0 ? {env: sortedEnv(provides.env)} : {}),
      ...(provides.files.length > 0 ? {files: provides.files} : {}),
    }
  }
  return json
}

/** {@link canonicalManifestJson} as file text: two-space indent and a final newline, like `pack`. */
export function renderManifestText(manifest: ManifestCore): string {
  return `${JSON.stringify(canonicalManifestJson(manifest), null, 2)}\n`
}

/**
 * The canonical text of an `agentos-package.json`, or undefined when the text is not a manifest
 * the container could hold (then the digest falls back to its raw bytes). Idempotent: the
 * canonical text of a canonical text is itself.
 */
export function canonicalManifestText(text: string): string | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const converted = manifestFromJson(value)
  return 'manifest' in converted ? renderManifestText(converted.manifest) : undefined
}
