import type {Problem} from '../errors.js'
import {describeType} from './bin-map.js'
import {checkProvidedFiles} from './manifest-provides.js'
import {fieldName, MANIFEST_SHAPE, pointerSegment, shapeErrors} from './manifest-shape.js'
import {isPlainNpmName} from './npm-name.js'
import {isPosixEnvName, isSafeSegment, MANIFEST_FILE, normalizePackagePath} from './paths.js'

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
  const problems = shapeProblems(value)
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {problems}
  const raw = value as Record<string, unknown>

  reportAllUnknownKeys(raw, problems)
  if (typeof raw.name === 'string' && raw.name !== '') checkName(raw.name, problems)
  if (typeof raw.version === 'string' && raw.version !== '') checkVersion(raw.version, problems)
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

/** Where the value departs from the schema's shape, as coded problems. */
function shapeProblems(value: unknown): Problem[] {
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
  return problems
}

/** Reports the unknown keys of the manifest and of each of its objects. */
function reportAllUnknownKeys(raw: Record<string, unknown>, problems: Problem[]): void {
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
}

/** A non-empty name: a safe mount point in /opt/agentos, preferably a plain npm-style name. */
function checkName(name: string, problems: Problem[]): void {
  if (!isSafeSegment(name) || name.startsWith('.') || name.includes('\\') || RESERVED_NAMES.has(name)) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE',
      severity: 'error',
      path: `${MANIFEST_FILE}#name`,
      message: RESERVED_NAMES.has(name)
        ? `name ${JSON.stringify(name)} would mount over /opt/agentos/${name}, which the runtime manages`
        : `name ${JSON.stringify(name)} is not a safe path segment for /opt/agentos/<name>`,
      hint: 'Use the unscoped package name: lowercase letters, digits, "-", "_" or ".", no "/".',
    })
  } else if (!isPlainNpmName(name)) {
    problems.push({
      code: 'WARN_AGENTOS_MANIFEST_NAME_STYLE',
      severity: 'warning',
      path: `${MANIFEST_FILE}#name`,
      message: `name ${JSON.stringify(name)} is not a plain lowercase npm-style name`,
      hint: 'Prefer lowercase letters, digits, "-", "_" and "."; it is also the agent id.',
    })
  }
}

/** A non-empty version: a safe path segment, preferably strict semver. */
function checkVersion(version: string, problems: Problem[]): void {
  if (!isSafeSegment(version)) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_VERSION_UNSAFE',
      severity: 'error',
      path: `${MANIFEST_FILE}#version`,
      message: `version ${JSON.stringify(version)} is not a safe path segment for /opt/agentos/<name>/<version>`,
      hint: 'Use a semver version such as "1.2.3".',
    })
  } else if (isLooseVersion(version)) {
    problems.push({
      code: 'WARN_AGENTOS_MANIFEST_VERSION_SEMVER',
      severity: 'warning',
      path: `${MANIFEST_FILE}#version`,
      message: `version ${JSON.stringify(version)} is not a semver version`,
      hint: 'Use a version such as "1.2.3"; pack copies it from package.json.',
    })
  }
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

function reportUnknownKeys(object: object, pointer: string, problems: Problem[]): void {
  if (Array.isArray(object)) return
  const known = KNOWN_KEYS[pointer.replace(/\/\d+$/, '/*')]
  if (!known) return
  for (const key of Object.keys(object)) {
    if (known.has(key)) continue
    problems.push({
      code: 'INFO_AGENTOS_MANIFEST_UNKNOWN_KEY',
      severity: 'info',
      path: fieldName(`${pointer}/${pointerSegment(key)}`),
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
      path: fieldName(`${pointer}/${pointerSegment(key)}`),
      message: `environment variable name ${JSON.stringify(key)} is not a POSIX name`,
      hint: 'Use letters, digits and "_", not starting with a digit (e.g. MY_TOOL_HOME).',
    })
  }
}
