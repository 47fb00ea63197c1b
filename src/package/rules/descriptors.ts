/**
 * The package's two descriptors: `package.json` (name, version) and `agentos-package.json` (the
 * manifest), read from the snapshot's texts, and whether they agree.
 */
import semver from 'semver'
import type {Problem} from '../../errors.js'
import {parseJsonDocument} from '../../format/json.js'
import {DESCRIPTOR_TEXT_LIMIT} from '../../format/limits.js'
import {checkManifest, type Manifest} from '../../format/manifest.js'
import {MANIFEST_FILE} from '../../format/paths.js'
import type {PackageSnapshot} from '../snapshot.js'
import {isNpmPackageName} from '../../format/npm-name.js'

/** The root package.json as an object, with its problems; undefined when missing or unusable. */
export function readPackageJson(
  snapshot: PackageSnapshot,
  problems: Problem[],
): Record<string, unknown> | undefined {
  const pkgText = snapshot.texts.get('package.json')
  // An archive needs no package.json: the runtime takes its commands from the manifest chunk.
  if (pkgText === undefined && !snapshot.container) {
    problems.push({
      code: 'ERR_AGENTOS_PKG_JSON_MISSING',
      severity: 'error',
      path: 'package.json',
      message: 'package.json is missing at the package root',
      hint: 'A package needs a package.json with name, version and a bin map; pack and assemble-wasm write one.',
    })
    return undefined
  }
  if (pkgText === undefined) return undefined
  const parsed = parseJsonDocument(pkgText, 'package.json')
  problems.push(...parsed.problems)
  if (!parsed.ok) return undefined
  if (parsed.value && typeof parsed.value === 'object' && !Array.isArray(parsed.value)) {
    const packageJson = parsed.value as Record<string, unknown>
    checkPackageJsonFields(packageJson, problems)
    return packageJson
  }
  problems.push({
    code: 'ERR_AGENTOS_PKG_JSON_NOT_OBJECT',
    severity: 'error',
    path: 'package.json',
    message: 'package.json is not a JSON object',
    hint: 'Write {"name": "…", "version": "…", "bin": {…}}.',
  })
  return undefined
}

function checkPackageJsonFields(pkg: Record<string, unknown>, problems: Problem[]): void {
  const name = pkg.name
  if (typeof name !== 'string' || !isNpmPackageName(name)) {
    problems.push({
      code: 'ERR_AGENTOS_PKG_NAME_INVALID',
      severity: 'error',
      path: 'package.json#name',
      message:
        typeof name === 'string'
          ? `package.json name ${JSON.stringify(name)} is not a valid npm package name`
          : 'package.json has no "name"',
      hint: 'Set "name" to an npm name such as "my-tool" or "@scope/my-tool".',
    })
  }
  const version = pkg.version
  if (typeof version !== 'string' || version === '') {
    problems.push({
      code: 'ERR_AGENTOS_PKG_VERSION_MISSING',
      severity: 'error',
      path: 'package.json#version',
      message: 'package.json has no "version"',
      hint: 'Set "version", e.g. "1.0.0"; the runtime mounts the package per version.',
    })
  } else if (!semver.valid(version)) {
    problems.push({
      code: 'WARN_AGENTOS_PKG_VERSION_SEMVER',
      severity: 'warning',
      path: 'package.json#version',
      message: `package.json version ${JSON.stringify(version)} is not semver`,
      hint: 'Use a version such as "1.2.3".',
    })
  }
}

/** The manifest checked (`manifest`) and as written (`raw`, when it is a JSON object). */
export interface ManifestRead {
  manifest?: Manifest
  raw?: Record<string, unknown>
}

/** Reads and checks agentos-package.json, with its problems. */
export function readManifest(snapshot: PackageSnapshot, problems: Problem[]): ManifestRead {
  const manifestText = snapshot.texts.get(MANIFEST_FILE)
  if (manifestText === undefined) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_MISSING',
      severity: 'error',
      path: MANIFEST_FILE,
      message: `${MANIFEST_FILE} is missing at the package root`,
      hint: 'Write {"name": "<name>"}, or run `agentos-toolchain assemble-wasm --check <dir>` / `pack` to generate it.',
    })
    return {}
  }
  const parsed = parseJsonDocument(manifestText, MANIFEST_FILE)
  problems.push(...parsed.problems)
  if (!parsed.ok) return {}
  const checked = checkManifest(parsed.value)
  problems.push(...checked.problems)
  const read: ManifestRead = {manifest: checked.manifest}
  if (parsed.value && typeof parsed.value === 'object' && !Array.isArray(parsed.value)) {
    read.raw = parsed.value as Record<string, unknown>
  }
  return read
}

/**
 * A root descriptor that is there but has no text was too large to keep, or unreadable (already
 * reported as ERR_AGENTOS_READ_FAILED): "missing" would send the user looking for a file that
 * exists, so that problem is replaced by the real reason.
 */
export function explainUnreadDescriptors(snapshot: PackageSnapshot, problems: Problem[]): void {
  const missingCodes: Array<[string, string]> = [
    ['package.json', 'ERR_AGENTOS_PKG_JSON_MISSING'],
    [MANIFEST_FILE, 'ERR_AGENTOS_MANIFEST_MISSING'],
  ]
  for (const [path, code] of missingCodes) {
    const entry = snapshot.byPath.get(path)
    const at = problems.findIndex((p) => p.code === code)
    if (at < 0 || entry?.kind !== 'file') continue
    const unreadable = snapshot.problems.some((p) => p.path === path)
    if (!unreadable && entry.size <= DESCRIPTOR_TEXT_LIMIT) continue
    problems.splice(at, 1)
    if (unreadable) continue
    problems.push({
      code: 'ERR_AGENTOS_JSON_TOO_LARGE',
      severity: 'error',
      path,
      message: `${path} is ${entry.size} bytes; descriptors over ${DESCRIPTOR_TEXT_LIMIT} bytes are not read`,
      hint: 'Keep package.json and agentos-package.json small: move data into files of their own.',
    })
  }
}

/** The manifest's version, when it gives one, must be package.json's. */
export function checkVersionsAgree(
  manifest: Manifest | undefined,
  pkgVersion: string | undefined,
  problems: Problem[],
): void {
  if (manifest?.version && pkgVersion && manifest.version !== pkgVersion) {
    problems.push({
      code: 'WARN_AGENTOS_VERSION_MISMATCH',
      severity: 'warning',
      path: `${MANIFEST_FILE}#version`,
      message: `${MANIFEST_FILE} says version ${manifest.version} but package.json says ${pkgVersion}`,
      hint: 'Keep them equal; pack and assemble-wasm copy the package.json version.',
    })
  }
}
