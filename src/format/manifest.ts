import {posix} from 'node:path'
import type {Problem} from '../errors.js'
import {describeType} from './bin-map.js'
import {checkVmPath, isPosixEnvName, isSafeSegment, MANIFEST_FILE, normalizePackagePath} from './paths.js'

// The manifest, agentos-package.json: its types and its rules, for every command that reads one:
// validate and inspect (through analyze.ts), pack, assemble-wasm, the .aospkg writer and run. No
// third-party import: `run` loads this on its fast path, where TypeBox (manifest-schema.ts, the
// published JSON Schema) or semver would cost more than a whole WASM command run.

/** The `agent` block of a manifest. */
export interface AgentBlock {
  /** The command (a key of package.json "bin") spawned to start a session; speaks ACP over stdio. */
  acpEntrypoint: string
  /** Static environment for the adapter, merged under the user env. */
  env?: Record<string, string>
  /** Arguments placed before the caller arguments. */
  launchArgs?: string[]
  /** Load the SDK once per sidecar from a V8 heap snapshot (default false). */
  snapshot?: boolean
}

/** One `provides.files` entry. */
export interface ProvidedFile {
  /** Path inside the package. */
  source: string
  /** Absolute path in the VM where the source is overlaid read-only. */
  target: string
}

/** The `provides` block of a manifest. */
export interface ProvidesBlock {
  /** Merged into the VM base environment; existing values win. */
  env?: Record<string, string>
  /** Read-only files overlaid into the VM. */
  files?: ProvidedFile[]
}

/**
 * A parsed `agentos-package.json` (unknown keys are allowed, and reported as info). Written out rather than derived from the TypeBox schema so that
 * this module loads nothing; manifest-schema.ts fails to compile when the two differ.
 */
export interface Manifest {
  $schema?: string
  /** Package name. */
  name: string
  /** Package version (pack writes it). */
  version?: string
  agent?: AgentBlock
  provides?: ProvidesBlock
}

/** A subset of JSON Schema: the keywords the manifest schema uses, nothing else. */
export type ManifestShape =
  | {type: 'string'; minLength?: number}
  | {type: 'boolean'}
  | {type: 'array'; items: ManifestShape}
  | {type: 'object'; patternProperties: Record<string, ManifestShape>; additionalProperties: false}
  | {type: 'object'; required?: string[]; properties: Record<string, ManifestShape>}

const STRING_MAP: ManifestShape = {
  type: 'object',
  patternProperties: {'^(.*)$': {type: 'string'}},
  additionalProperties: false,
}

/**
 * The shape `ManifestSchema` (format/manifest.ts) describes, without its annotations. A unit test
 * pins the two together, so the schema stays the one definition of the manifest's shape.
 */
export const MANIFEST_SHAPE: ManifestShape = {
  type: 'object',
  required: ['name'],
  properties: {
    $schema: {type: 'string'},
    name: {type: 'string', minLength: 1},
    version: {type: 'string', minLength: 1},
    agent: {
      type: 'object',
      required: ['acpEntrypoint'],
      properties: {
        acpEntrypoint: {type: 'string', minLength: 1},
        env: STRING_MAP,
        launchArgs: {type: 'array', items: {type: 'string'}},
        snapshot: {type: 'boolean'},
      },
    },
    provides: {
      type: 'object',
      properties: {
        env: STRING_MAP,
        files: {
          type: 'array',
          items: {
            type: 'object',
            required: ['source', 'target'],
            properties: {source: {type: 'string', minLength: 1}, target: {type: 'string', minLength: 1}},
          },
        },
      },
    },
  },
}

/** A place where a value does not have its shape: a JSON Pointer, the value there, what was wanted. */
export interface ShapeError {
  pointer: string
  value: unknown
  /** `a non-empty string`, `an object of strings`… */
  expected: string
}

/**
 * Where `value` departs from `shape`, in the order and with the locations of TypeBox's
 * `Value.Errors` (which the schema's users get), including its repeat of a missing required
 * property as a type error at the same place.
 */
export function* shapeErrors(shape: ManifestShape, value: unknown, pointer = ''): Generator<ShapeError> {
  const error = (at: string, found: unknown, of: ManifestShape = shape): ShapeError => ({
    pointer: at,
    value: found,
    expected: expectation(of),
  })
  switch (shape.type) {
    case 'string':
      if (typeof value !== 'string') return yield error(pointer, value)
      if (shape.minLength !== undefined && value.length < shape.minLength) yield error(pointer, value)
      return
    case 'boolean':
      if (typeof value !== 'boolean') yield error(pointer, value)
      return
    case 'array':
      if (!Array.isArray(value)) return yield error(pointer, value)
      for (let i = 0; i < value.length; i++) yield* shapeErrors(shape.items, value[i], `${pointer}/${i}`)
      return
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return yield error(pointer, value)
  if ('patternProperties' in shape) {
    if (value instanceof Date || value instanceof Uint8Array) return yield error(pointer, value)
    const [[pattern, item]] = Object.entries(shape.patternProperties) as [[string, ManifestShape]]
    const keys = new RegExp(pattern)
    const entries = Object.entries(value)
    for (const [key, child] of entries) {
      if (keys.test(key)) yield* shapeErrors(item, child, `${pointer}/${segment(key)}`)
    }
    // Only the first key outside the pattern is reported, as TypeBox does.
    const outside = entries.find(([key]) => !keys.test(key))
    if (outside) yield error(`${pointer}/${segment(outside[0])}`, outside[1])
    return
  }
  const own = Object.getOwnPropertyNames(value)
  const required = shape.required ?? []
  for (const key of required) {
    if (!own.includes(key)) yield error(`${pointer}/${segment(key)}`, undefined, shape.properties[key])
  }
  const record = value as Record<string, unknown>
  for (const [key, property] of Object.entries(shape.properties)) {
    if (required.includes(key) || record[key] !== undefined)
      yield* shapeErrors(property, record[key], `${pointer}/${segment(key)}`)
  }
}

function expectation(shape: ManifestShape | undefined): string {
  if (shape?.type === 'string') return shape.minLength ? 'a non-empty string' : 'a string'
  if (shape?.type === 'boolean') return 'true or false'
  if (shape?.type === 'array') return 'an array'
  if (shape?.type === 'object') return 'patternProperties' in shape ? 'an object of strings' : 'an object'
  return 'of another type'
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

/** Result of {@link checkManifest}. `manifest` is set when the value has the schema's shape. */
export interface ManifestCheck {
  manifest?: Manifest
  problems: Problem[]
}

/**
 * Checks a parsed `agentos-package.json` value against the schema and the path, name and env
 * rules, reporting every problem; the manifest comes back, typed, when none is an error. Checks
 * that need the package contents (does a `provides.files` source exist, is `acpEntrypoint` a
 * command) are made by the validator.
 */
export function checkManifest(value: unknown): ManifestCheck {
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const error of shapeErrors(MANIFEST_SHAPE, value)) {
    const match = TYPE_CODES.find(([pattern]) => pattern.test(error.pointer))
    if (!match) continue
    const [, code, hint] = match
    // One report per field: nested schema errors repeat the same location.
    const key = `${code}|${error.pointer}`
    if (seen.has(key) || seen.has(`${code}|${error.pointer.replace(/\/[^/]*$/, '')}`)) continue
    seen.add(key)
    const field = fieldName(error.pointer)
    const message =
      error.value === undefined
        ? `${field} is required`
        : `${field} must be ${error.expected}, got ${describeType(error.value)}${
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

/**
 * The package-relative path a `provides.files` source of a checked manifest names, normalized
 * (`./etc/x.conf` is `etc/x.conf`); `''` for the package root itself (`.`, `./`, `a/..`).
 */
export function providedSourcePath(source: string): string {
  const normalized = normalizePackagePath(source)
  return 'path' in normalized ? normalized.path : ''
}

// Strict semver 2.0 (semver.org's grammar) without the leading "v", which is flagged apart. The same
// verdict as semver.valid (a test pins it), without loading semver on run's path.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9]\d*)(?:\.(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9]\d*))*)?(?:\+[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)?$/

const PLAIN_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

/**
 * Not a strict semver version (semver.valid also accepts "v1.0.0" or padded text). Only asked of
 * safe path segments, which are shorter than semver's 256-character limit.
 */
function isLooseVersion(version: string): boolean {
  if (/^[v=\s]/.test(version) || /\s$/.test(version)) return true
  // A plain x.y.z, the common case, spares compiling the whole grammar (a third of a millisecond).
  const match = PLAIN_SEMVER.exec(version) ?? (/[-+]/.test(version) ? SEMVER.exec(version) : null)
  return !match || match.slice(1, 4).some((part) => Number(part) > Number.MAX_SAFE_INTEGER)
}

/** Escapes one JSON Pointer segment (RFC 6901). */
function segment(key: string): string {
  // Every key of a manifest passes here: most have nothing to escape.
  if (!key.includes('~') && !key.includes('/')) return key
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
          message: `provides target ${target} ${reserved.reason}`,
          hint: reserved.hint,
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

// Directories every guest writes to: the temporary directory (TMPDIR) and the home, which is also
// the default working directory. An overlay is a read-only mount at its target, so one on either
// (or on a parent: /home) would leave guests without them. Files inside them are fine: the parent
// directories of an overlay stay writable.
const WRITABLE_DIRS: Array<[string, string]> = [
  ['/tmp', "the VM's temporary directory"],
  ['/home/agentos', "the guest's home and working directory"],
]

/** Why an (already normalized, absolute) overlay target is off limits, or undefined. */
function reservedTarget(target: string): {reason: string; hint: string} | undefined {
  const hint =
    'Overlay files elsewhere, e.g. under /etc or /usr/share; /proc, /sys, /dev and /opt/agentos belong to the VM.'
  for (const root of RESERVED_TARGETS) {
    if (target === root || target.startsWith(`${root}/`))
      return {reason: `is under ${root}, which the VM manages`, hint}
    // Overlaying an ancestor (/ or /opt) would hide the whole reserved tree.
    if (target === '/' || root.startsWith(`${target}/`))
      return {reason: `would cover ${root}, which the VM manages`, hint}
  }
  for (const [dir, what] of WRITABLE_DIRS) {
    if (target === dir || dir.startsWith(`${target}/`)) {
      return {
        reason: `would cover ${dir}, ${what}, with a read-only mount`,
        hint: `Overlay files or subdirectories inside ${dir}, not ${dir} or a parent of it; or put them under /etc or /usr/share.`,
      }
    }
  }
  return undefined
}
