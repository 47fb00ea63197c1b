import {posix} from 'node:path'
import {type Static, type TSchema, Type} from '@sinclair/typebox'
import {Value} from '@sinclair/typebox/value'
import semver from 'semver'
import type {Problem} from '../errors.js'
import {describeType} from './bin-map.js'
import {checkVmPath, isPosixEnvName, isSafeSegment, normalizePackagePath} from './paths.js'
import {MANIFEST_FILE} from './paths.js'

/** File name of the agentOS manifest at a package root (defined with the other path rules). */
export {MANIFEST_FILE}
/** `$id` of the published JSON Schema. */
export const MANIFEST_SCHEMA_ID = 'https://agentos-toolchain.dev/schema/agentos-package.schema.json'

// The TypeBox schema below is the single source of truth: the TypeScript types are derived from
// it with Static<>, and schema/agentos-package.schema.json is this object serialized at build.
const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String(), {description, additionalProperties: false})

/** JSON Schema of the `agent` block. */
export const AgentBlockSchema = Type.Object(
  {
    acpEntrypoint: Type.String({
      minLength: 1,
      description:
        'The command (a key of package.json "bin") spawned to start a session; speaks ACP over stdio.',
    }),
    env: Type.Optional(StringMap('Static environment for the adapter, merged under the user env.')),
    launchArgs: Type.Optional(
      Type.Array(Type.String(), {description: 'Arguments placed before the caller arguments.'}),
    ),
    snapshot: Type.Optional(
      Type.Boolean({default: false, description: 'Load the SDK once per sidecar from a V8 heap snapshot.'}),
    ),
  },
  {description: 'Present when the package also exposes an agent session.'},
)

/** JSON Schema of one `provides.files` entry. */
export const ProvidedFileSchema = Type.Object({
  source: Type.String({minLength: 1, description: 'Path inside the package.'}),
  target: Type.String({
    minLength: 1,
    description: 'Absolute path in the VM where the source is overlaid read-only.',
  }),
})

/** JSON Schema of the `provides` block. */
export const ProvidesBlockSchema = Type.Object(
  {
    env: Type.Optional(StringMap('Merged into the VM base environment; existing values win.')),
    files: Type.Optional(
      Type.Array(ProvidedFileSchema, {description: 'Read-only files overlaid into the VM.'}),
    ),
  },
  {description: 'Files and environment the package contributes to the VM.'},
)

/** JSON Schema of `agentos-package.json`. Unknown keys are allowed (and reported as info). */
export const ManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Type.String({minLength: 1, description: 'Package name; mounted at /opt/agentos/<name>.'}),
    version: Type.Optional(Type.String({minLength: 1, description: 'Package version (pack writes it).'})),
    agent: Type.Optional(AgentBlockSchema),
    provides: Type.Optional(ProvidesBlockSchema),
  },
  {
    $id: MANIFEST_SCHEMA_ID,
    title: 'agentOS package manifest (agentos-package.json)',
  },
)

/** The `agent` block of a manifest. */
export type AgentBlock = Static<typeof AgentBlockSchema>
/** One `provides.files` entry. */
export type ProvidedFile = Static<typeof ProvidedFileSchema>
/** The `provides` block of a manifest. */
export type ProvidesBlock = Static<typeof ProvidesBlockSchema>
/** A parsed `agentos-package.json`. */
export type Manifest = Static<typeof ManifestSchema>

/** The JSON Schema document as shipped in `schema/agentos-package.schema.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {$schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(ManifestSchema))}
}

// /opt/agentos/bin holds the command links, share/ the man page farm, pkgs/ the versioned mounts
// of newer runtimes: a package with one of these names would mount over them.
const RESERVED_NAMES = new Set(['bin', 'share', 'pkgs'])

const KNOWN_KEYS: Record<string, ReadonlySet<string>> = {
  '': new Set(['$schema', 'name', 'version', 'agent', 'provides']),
  '/agent': new Set(['acpEntrypoint', 'env', 'launchArgs', 'snapshot']),
  '/provides': new Set(['env', 'files']),
  '/provides/files/*': new Set(['source', 'target']),
}

// Each schema location maps to the one code users see for it, most specific prefix first.
const TYPE_CODES: Array<[RegExp, string, string]> = [
  [/^$/, 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', 'Write the manifest as a JSON object: {"name": "my-tool"}.'],
  [/^\/name$/, 'ERR_AGENTOS_MANIFEST_NAME_INVALID', 'Set "name" to the package name, e.g. "my-tool".'],
  [/^\/version$/, 'ERR_AGENTOS_MANIFEST_VERSION_TYPE', 'Set "version" to a semver string such as "1.0.0".'],
  [/^\/\$schema$/, 'ERR_AGENTOS_MANIFEST_FIELD_TYPE', '"$schema" must be a URL string.'],
  [
    /^\/agent\/acpEntrypoint$/,
    'ERR_AGENTOS_AGENT_ENTRYPOINT_MISSING',
    'Name the ACP command: "acpEntrypoint": "my-agent-acp".',
  ],
  [/^\/agent\/env(\/|$)/, 'ERR_AGENTOS_AGENT_ENV_TYPE', '"agent.env" is an object of string values.'],
  [
    /^\/agent\/launchArgs(\/|$)/,
    'ERR_AGENTOS_AGENT_LAUNCH_ARGS_TYPE',
    '"agent.launchArgs" is an array of strings.',
  ],
  [/^\/agent\/snapshot$/, 'ERR_AGENTOS_AGENT_SNAPSHOT_TYPE', '"agent.snapshot" is true or false.'],
  [/^\/agent$/, 'ERR_AGENTOS_AGENT_TYPE', '"agent" is an object with at least "acpEntrypoint".'],
  [/^\/provides\/env(\/|$)/, 'ERR_AGENTOS_PROVIDES_ENV_VALUE', '"provides.env" values are strings.'],
  [
    /^\/provides\/files(\/|$)/,
    'ERR_AGENTOS_PROVIDES_FILES_TYPE',
    'Write "files": [{"source": "etc/x.conf", "target": "/etc/x.conf"}].',
  ],
  [/^\/provides$/, 'ERR_AGENTOS_PROVIDES_TYPE', '"provides" is an object with optional "env" and "files".'],
]

function fieldName(pointer: string): string {
  if (pointer === '') return MANIFEST_FILE
  return `${MANIFEST_FILE}#${pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('')}`
}

function expectation(schema: TSchema): string {
  if (schema.type === 'string') return schema.minLength ? 'a non-empty string' : 'a string'
  if (schema.type === 'boolean') return 'true or false'
  if (schema.type === 'array') return 'an array'
  if (schema.type === 'object') return schema.patternProperties ? 'an object of strings' : 'an object'
  return 'of another type'
}

/** Result of {@link checkManifest}. `manifest` is set when the value has the schema's shape. */
export interface ManifestCheck {
  manifest?: Manifest
  problems: Problem[]
}

/**
 * Checks a parsed `agentos-package.json` value against the schema and the path, name and env
 * rules, reporting every problem. Checks that need the package contents (does a `provides.files`
 * source exist, is `acpEntrypoint` a command) are made by the validator.
 */
export function checkManifest(value: unknown): ManifestCheck {
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(ManifestSchema, value)) {
    const match = TYPE_CODES.find(([pattern]) => pattern.test(error.path))
    if (!match) continue
    const [, code, hint] = match
    // One report per field: nested schema errors repeat the same location.
    const key = `${code}|${error.path}`
    if (seen.has(key) || seen.has(`${code}|${error.path.replace(/\/[^/]*$/, '')}`)) continue
    seen.add(key)
    const field = fieldName(error.path)
    const message =
      error.value === undefined
        ? `${field} is required`
        : `${field} must be ${expectation(error.schema)}, got ${describeType(error.value)}${
            typeof error.value === 'string' && error.value === '' ? ' (empty)' : ''
          }`
    problems.push({code, severity: 'error', path: field, message, hint})
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {problems}
  const raw = value as Record<string, unknown>

  reportUnknownKeys(raw, '', problems)
  if (raw.agent && typeof raw.agent === 'object') reportUnknownKeys(raw.agent, '/agent', problems)
  if (raw.provides && typeof raw.provides === 'object') {
    reportUnknownKeys(raw.provides, '/provides', problems)
    const files = (raw.provides as Record<string, unknown>).files
    if (Array.isArray(files)) {
      files.forEach((file, index) => {
        if (file && typeof file === 'object') reportUnknownKeys(file, `/provides/files/${index}`, problems)
      })
    }
  }

  if (typeof raw.name === 'string' && raw.name !== '') {
    if (
      !isSafeSegment(raw.name) ||
      raw.name.startsWith('.') ||
      raw.name.includes('\\') ||
      RESERVED_NAMES.has(raw.name)
    ) {
      problems.push({
        code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE',
        severity: 'error',
        path: `${MANIFEST_FILE}#name`,
        message: RESERVED_NAMES.has(raw.name)
          ? `name ${JSON.stringify(raw.name)} would mount over /opt/agentos/${raw.name}, which the runtime manages`
          : `name ${JSON.stringify(raw.name)} is not a safe path segment for /opt/agentos/<name>`,
        hint: 'Use the unscoped package name: lowercase letters, digits, "-", "_" or ".", no "/".',
      })
    } else if (!/^[a-z0-9][a-z0-9._-]*$/.test(raw.name) || raw.name.length > 214) {
      problems.push({
        code: 'WARN_AGENTOS_MANIFEST_NAME_STYLE',
        severity: 'warning',
        path: `${MANIFEST_FILE}#name`,
        message: `name ${JSON.stringify(raw.name)} is not a plain lowercase npm-style name`,
        hint: 'Prefer lowercase letters, digits, "-", "_" and "."; it is also the agent id.',
      })
    }
  }
  if (typeof raw.version === 'string' && raw.version !== '' && !isSafeSegment(raw.version)) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_VERSION_UNSAFE',
      severity: 'error',
      path: `${MANIFEST_FILE}#version`,
      message: `version ${JSON.stringify(raw.version)} is not a safe path segment for /opt/agentos/<name>/<version>`,
      hint: 'Use a semver version such as "1.2.3".',
    })
  } else if (typeof raw.version === 'string' && raw.version !== '' && isLooseVersion(raw.version)) {
    problems.push({
      code: 'WARN_AGENTOS_MANIFEST_VERSION_SEMVER',
      severity: 'warning',
      path: `${MANIFEST_FILE}#version`,
      message: `version ${JSON.stringify(raw.version)} is not a semver version`,
      hint: 'Use a version such as "1.2.3"; pack copies it from package.json.',
    })
  }
  const agent = raw.agent as Record<string, unknown> | undefined
  if (agent && typeof agent === 'object')
    checkEnvKeys(agent.env, '/agent/env', 'ERR_AGENTOS_AGENT_ENV_KEY', problems)
  const provides = raw.provides as Record<string, unknown> | undefined
  if (provides && typeof provides === 'object') {
    checkEnvKeys(provides.env, '/provides/env', 'ERR_AGENTOS_PROVIDES_ENV_KEY', problems)
    if (Array.isArray(provides.files)) checkProvidedFiles(provides.files, problems)
  }

  const hasErrors = problems.some((p) => p.severity === 'error')
  return hasErrors ? {problems} : {manifest: value as Manifest, problems}
}

/** Not a strict semver version (semver.valid also accepts "v1.0.0" or padded text). */
function isLooseVersion(version: string): boolean {
  return !semver.valid(version) || /^[v=\s]/.test(version) || /\s$/.test(version)
}

/** Escapes one JSON Pointer segment (RFC 6901). */
function segment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

function reportUnknownKeys(object: object, pointer: string, problems: Problem[]): void {
  if (Array.isArray(object)) return
  const known = KNOWN_KEYS[pointer.replace(/\/\d+$/, '/*')]
  if (!known) return
  for (const key of Object.keys(object)) {
    if (known.has(key)) continue
    problems.push({
      code: 'INFO_AGENTOS_MANIFEST_UNKNOWN_KEY',
      severity: 'info',
      path: fieldName(`${pointer}/${segment(key)}`),
      message: `unknown key "${key}" is kept but not used by the runtime`,
    })
  }
}

function checkEnvKeys(env: unknown, pointer: string, code: string, problems: Problem[]): void {
  if (!env || typeof env !== 'object' || Array.isArray(env)) return
  for (const key of Object.keys(env)) {
    if (isPosixEnvName(key)) continue
    problems.push({
      code,
      severity: 'error',
      path: fieldName(`${pointer}/${segment(key)}`),
      message: `environment variable name ${JSON.stringify(key)} is not a POSIX name`,
      hint: 'Use letters, digits and "_", not starting with a digit (e.g. MY_TOOL_HOME).',
    })
  }
}

function checkProvidedFiles(files: unknown[], problems: Problem[]): void {
  const targets = new Map<string, number>()
  files.forEach((file, index) => {
    if (!file || typeof file !== 'object') return
    const {source, target} = file as Record<string, unknown>
    if (typeof source === 'string' && source !== '') {
      const normalized = normalizePackagePath(source)
      // "." names the package root itself, which the runtime accepts (an empty source is "/").
      if ('issue' in normalized && normalized.issue !== 'empty') {
        const absolute = normalized.issue === 'absolute'
        problems.push({
          code: absolute ? 'ERR_AGENTOS_PROVIDES_SOURCE_ABSOLUTE' : 'ERR_AGENTOS_PROVIDES_SOURCE_ESCAPES',
          severity: 'error',
          path: fieldName(`/provides/files/${index}/source`),
          message: `provides source ${JSON.stringify(source)} ${
            absolute ? 'is absolute' : `is not a path inside the package (${normalized.issue})`
          }`,
          hint: 'Sources are relative to the package root, e.g. "etc/example.conf".',
        })
      }
    }
    if (typeof target === 'string' && target !== '') {
      const issue = checkVmPath(target)
      if (issue) {
        const code =
          issue === 'not-absolute'
            ? 'ERR_AGENTOS_PROVIDES_TARGET_RELATIVE'
            : issue === 'escapes'
              ? 'ERR_AGENTOS_PROVIDES_TARGET_DOTDOT'
              : 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'
        problems.push({
          code,
          severity: 'error',
          path: fieldName(`/provides/files/${index}/target`),
          message: `provides target ${JSON.stringify(target)} is not a normalized absolute VM path (${issue})`,
          hint: 'Targets are absolute VM paths without "..", e.g. "/etc/example.conf".',
        })
        return
      }
      const reserved = reservedTarget(target)
      if (reserved) {
        problems.push({
          code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
          severity: 'error',
          path: fieldName(`/provides/files/${index}/target`),
          message: `provides target ${target} ${reserved}`,
          hint: 'Overlay files elsewhere, e.g. under /etc or /usr/share; /proc, /sys, /dev and /opt/agentos belong to the VM.',
        })
        return
      }
      const first = targets.get(target)
      if (first !== undefined) {
        problems.push({
          code: 'ERR_AGENTOS_PROVIDES_TARGET_DUPLICATE',
          severity: 'error',
          path: fieldName(`/provides/files/${index}/target`),
          message: `provides target ${target} is also the target of files[${first}]`,
          hint: 'Each VM path can be overlaid by one source only.',
        })
      } else {
        targets.set(target, index)
      }
    }
  })
  // Overlays are read-only mounts: one inside another hides or is hidden by it, depending on the
  // order the runtime mounts them, so neither source reliably wins.
  for (const [target, index] of targets) {
    for (let parent = posix.dirname(target); parent !== '/'; parent = posix.dirname(parent)) {
      const outer = targets.get(parent)
      if (outer === undefined) continue
      problems.push({
        code: 'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
        severity: 'error',
        path: fieldName(`/provides/files/${index}/target`),
        message: `provides target ${target} is inside ${parent}, the target of files[${outer}]`,
        hint: 'Overlay a directory or the files inside it, not both.',
      })
      break
    }
  }
}

// The VM mounts procfs, sysfs and devfs itself, and the runtime owns /opt/agentos (package mounts,
// the command links in /opt/agentos/bin): an overlay there would shadow what the VM relies on.
const RESERVED_TARGETS = ['/proc', '/sys', '/dev', '/opt/agentos']

/** Why an (already normalized, absolute) overlay target is off limits, or undefined. */
function reservedTarget(target: string): string | undefined {
  for (const root of RESERVED_TARGETS) {
    if (target === root || target.startsWith(`${root}/`)) return `is under ${root}, which the VM manages`
    // Overlaying an ancestor (/ or /opt) would hide the whole reserved tree.
    if (target === '/' || root.startsWith(`${target}/`)) return `would cover ${root}, which the VM manages`
  }
  return undefined
}
