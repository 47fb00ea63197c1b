import {posix} from 'node:path'
import semver from 'semver'
import type {Problem} from '../errors.js'
import {type BinSource, type CommandEntry, normalizeBin, unscopedName} from '../format/bin-map.js'
import {containerBin} from './container-bin.js'
import {describeKind, detectHeader, type HeaderInfo, isNativeKind} from '../format/header.js'
import {parseJsonDocument, parseJsonLenient} from '../format/json.js'
import {checkManifest, type Manifest} from '../format/manifest.js'
import {isNpmPackageName} from '../format/npm-name.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {normalizePackagePath, SNAPSHOT_BUNDLE_FILE, symlinkStaysInside} from '../format/paths.js'
import type {PackageEntry, PackageSnapshot} from './snapshot.js'
import {DESCRIPTOR_TEXT_LIMIT} from '../format/limits.js'

/** A command of the package with what its entry file turned out to be. */
export interface CommandInfo extends CommandEntry {
  /** Header kind of the entry (`missing` when there is no such file). */
  kind: HeaderInfo['kind'] | 'missing' | 'directory' | 'symlink'
  /** Human description (`script (/usr/bin/env node)`, `WebAssembly module`). */
  description: string
  size: number
  mode: number
  header?: HeaderInfo
}

/** One npm package of the `node_modules` closure. */
export interface ClosurePackage {
  name: string
  version: string
  /** Package-relative directory (`node_modules/@scope/x`). */
  path: string
  files: number
  bytes: number
}

/** The typed model of a package that every command works from. */
export interface PackageModel {
  /** Name from `agentos-package.json` (else the unscoped npm name). */
  name?: string
  version?: string
  npmName?: string
  manifest?: Manifest
  commands: CommandInfo[]
  binSource: BinSource
  closure: ClosurePackage[]
  files: number
  bytes: number
}

/** Result of {@link analyzePackage}. */
export interface Analysis {
  model: PackageModel
  problems: Problem[]
}

const SOURCE_SMELLS: Array<[RegExp, string]> = [
  [/^src$/, 'a src/ directory'],
  [/^tsconfig(\..+)?\.json$/, 'a TypeScript config'],
  [/^\.git$/, 'a .git directory'],
  [/^(\.cache|\.turbo|\.next|\.nuxt|\.parcel-cache|\.nyc_output|coverage|\.eslintcache)$/, 'a build cache'],
  [/^node_modules\/\.cache$/, 'a build cache'],
  [/^[^/]+\.tsbuildinfo$/, 'a TypeScript build cache'],
]

/**
 * Checks a package snapshot against every rule of the package format and builds its model. Never
 * throws on bad content: each defect is a {@link Problem}.
 */
export function analyzePackage(snapshot: PackageSnapshot): Analysis {
  const problems: Problem[] = [...snapshot.problems]
  const {byPath} = snapshot

  // package.json
  let packageJson: Record<string, unknown> | undefined
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
  } else if (pkgText !== undefined) {
    const parsed = parseJsonDocument(pkgText, 'package.json')
    problems.push(...parsed.problems)
    if (parsed.ok) {
      if (parsed.value && typeof parsed.value === 'object' && !Array.isArray(parsed.value)) {
        packageJson = parsed.value as Record<string, unknown>
        checkPackageJsonFields(packageJson, problems)
      } else {
        problems.push({
          code: 'ERR_AGENTOS_PKG_JSON_NOT_OBJECT',
          severity: 'error',
          path: 'package.json',
          message: 'package.json is not a JSON object',
          hint: 'Write {"name": "…", "version": "…", "bin": {…}}.',
        })
      }
    }
  }

  // agentos-package.json
  let manifest: Manifest | undefined
  let manifestRaw: Record<string, unknown> | undefined
  const manifestText = snapshot.texts.get(MANIFEST_FILE)
  if (manifestText === undefined) {
    problems.push({
      code: 'ERR_AGENTOS_MANIFEST_MISSING',
      severity: 'error',
      path: MANIFEST_FILE,
      message: `${MANIFEST_FILE} is missing at the package root`,
      hint: 'Write {"name": "<name>"}, or run `agentos-toolchain assemble-wasm --check <dir>` / `pack` to generate it.',
    })
  } else {
    const parsed = parseJsonDocument(manifestText, MANIFEST_FILE)
    problems.push(...parsed.problems)
    if (parsed.ok) {
      const checked = checkManifest(parsed.value)
      problems.push(...checked.problems)
      manifest = checked.manifest
      if (parsed.value && typeof parsed.value === 'object' && !Array.isArray(parsed.value)) {
        manifestRaw = parsed.value as Record<string, unknown>
      }
    }
  }

  explainUnreadDescriptors(snapshot, problems)

  // commands
  const binDir = snapshot.entries
    .filter((e) => e.path.startsWith('bin/') && !e.path.slice(4).includes('/') && e.kind !== 'dir')
    .map((e) => e.path.slice(4))
  const bin = snapshot.container
    ? containerBin(snapshot.container, snapshot, packageJson, binDir)
    : packageJson
      ? normalizeBin(packageJson, binDir)
      : {commands: [], source: 'none' as const, problems: []}
  const hasBinMap = packageJson !== undefined || snapshot.container !== undefined
  problems.push(...bin.problems)
  const commands = bin.commands.map((command) => inspectCommand(command, byPath, problems))

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
  if (hasBinMap && commands.length === 0 && !bin.problems.some((p) => p.severity === 'error')) {
    problems.push({
      code: 'WARN_AGENTOS_NO_COMMANDS',
      severity: 'warning',
      path: 'package.json#bin',
      message: 'the package declares no commands',
      hint: 'Add a "bin" map so the commands are linked into /opt/agentos/bin.',
    })
  }

  // provides.files sources must exist in the package
  const provides = manifestRaw?.provides as Record<string, unknown> | undefined
  if (provides && Array.isArray(provides.files)) {
    provides.files.forEach((file: unknown, index: number) => {
      const source = (file as Record<string, unknown> | null)?.source
      if (typeof source !== 'string') return
      const checked = normalizePackagePath(source)
      // Unusable paths are reported by the manifest check; only real package paths can be missing.
      if ('issue' in checked) return
      const normalized = checked.path
      if (!byPath.has(normalized) && !snapshot.entries.some((e) => e.path.startsWith(`${normalized}/`))) {
        problems.push({
          code: 'ERR_AGENTOS_PROVIDES_SOURCE_MISSING',
          severity: 'error',
          path: `${MANIFEST_FILE}#provides.files[${index}].source`,
          message: `provides source "${source}" does not exist in the package`,
          hint: 'Add the file to the package (assemble-wasm --include, or the npm "files" list), or fix the path.',
        })
      }
    })
  }

  // versions agree
  const pkgVersion = typeof packageJson?.version === 'string' ? packageJson.version : undefined
  if (manifest?.version && pkgVersion && manifest.version !== pkgVersion) {
    problems.push({
      code: 'WARN_AGENTOS_VERSION_MISMATCH',
      severity: 'warning',
      path: `${MANIFEST_FILE}#version`,
      message: `${MANIFEST_FILE} says version ${manifest.version} but package.json says ${pkgVersion}`,
      hint: 'Keep them equal; pack and assemble-wasm copy the package.json version.',
    })
  }

  checkTree(snapshot, packageJson, problems)
  const closure = closurePackages(snapshot, packageJson, problems)

  const npmName = typeof packageJson?.name === 'string' ? packageJson.name : snapshot.container?.wrapper?.name
  const files = snapshot.entries.filter((e) => e.kind === 'file')
  const model: PackageModel = {
    name:
      typeof manifestRaw?.name === 'string' ? manifestRaw.name : npmName ? unscopedName(npmName) : undefined,
    version: pkgVersion ?? (typeof manifestRaw?.version === 'string' ? manifestRaw.version : undefined),
    npmName,
    manifest,
    commands,
    binSource: bin.source,
    closure,
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.size, 0),
  }
  return {model, problems: sortProblems(problems)}
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

function inspectCommand(
  command: CommandEntry,
  byPath: Map<string, PackageEntry>,
  problems: Problem[],
): CommandInfo {
  const field = `package.json#bin.${command.name}`
  const info: CommandInfo = {...command, kind: 'missing', description: 'missing', size: 0, mode: 0}
  const linkedAncestor = ancestors(command.entry).find((dir) => byPath.get(dir)?.kind === 'symlink')
  const entry = byPath.get(command.entry)
  if (linkedAncestor || entry?.kind === 'symlink') {
    const link = byPath.get(linkedAncestor ?? command.entry)!
    info.kind = 'symlink'
    info.description = `symlink → ${link.linkTarget}`
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_SYMLINK',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} goes through the symlink ${link.path} → ${link.linkTarget}`,
      hint: 'Point bin at the real file: npm publish and the package mount drop symlinks.',
    })
    return info
  }
  if (!entry) {
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_MISSING',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} does not exist`,
      hint: 'Fix the bin path, or add the file to the package.',
    })
    return info
  }
  if (entry.kind === 'dir') {
    info.kind = 'directory'
    info.description = 'directory'
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_DIRECTORY',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} is a directory`,
      hint: 'Point bin at the executable file inside it.',
    })
    return info
  }
  info.size = entry.size
  info.mode = entry.mode
  const header = detectHeader(entry.head ?? Buffer.alloc(0))
  info.header = header
  info.kind = header.kind
  info.description = describeKind(header)
  const push = (code: string, message: string, hint: string, severity: Problem['severity'] = 'error') =>
    problems.push({
      code,
      severity,
      path: field,
      message: `command "${command.name}" (${command.entry}) ${message}`,
      hint,
    })

  if ((entry.mode & 0o111) === 0) {
    push(
      'ERR_AGENTOS_BIN_NOT_EXECUTABLE',
      `is not executable (mode ${entry.mode.toString(8).padStart(4, '0')})`,
      `chmod +x ${command.entry} (pack sets 0755 on every command).`,
    )
  }
  if (header.bomShebang) {
    push(
      'ERR_AGENTOS_BIN_BOM',
      'starts with a UTF-8 byte order mark before "#!", so the runtime sees no shebang',
      'Save the file without BOM.',
    )
  } else if (isNativeKind(header.kind)) {
    push(
      'ERR_AGENTOS_BIN_NATIVE',
      `is a ${describeKind(header)}, which cannot run in agentOS`,
      'Compile the command to WebAssembly (wasm32-wasi) or write it for Node.js.',
    )
  } else if (header.kind === 'unknown') {
    push(
      'ERR_AGENTOS_BIN_UNKNOWN_HEADER',
      entry.size === 0 ? 'is empty' : 'has no recognized header (#!, \\0asm)',
      /\.(c|m)?js$/.test(command.entry) || command.entry.includes('node_modules/')
        ? `Add "#!/usr/bin/env node" as the first line of ${command.entry}.`
        : `Add a "#!" line naming the interpreter (e.g. "#!/usr/bin/env node") or ship a WebAssembly module.`,
    )
  } else if (header.kind === 'shebang') {
    const shebang = header.shebang!
    if (shebang.interpreter === '' || !shebang.interpreter.startsWith('/')) {
      push(
        'ERR_AGENTOS_BIN_SHEBANG_INVALID',
        shebang.interpreter === ''
          ? 'has a "#!" line without an interpreter'
          : `names the interpreter "${shebang.interpreter}", which is not an absolute path`,
        'The runtime does not search $PATH for interpreters: write "#!/usr/bin/env node".',
      )
    } else if (
      posix.basename(shebang.interpreter) === 'env' &&
      shebang.argument &&
      /[ \t]/.test(shebang.argument) &&
      !shebang.argument.startsWith('-S')
    ) {
      push(
        'ERR_AGENTOS_BIN_SHEBANG_ENV_ARGS',
        `passes "${shebang.argument}" to env as one argument, so env looks for a program of that name`,
        'The runtime passes at most one argument: drop the extra flags, or use "#!/usr/bin/env -S node --flag".',
      )
    }
    if (shebang.crlf) {
      push(
        'ERR_AGENTOS_BIN_SHEBANG_CRLF',
        'has a "#!" line ending in CRLF, so the runtime looks for an interpreter name ending in "\\r"',
        'Convert the file to LF line endings.',
      )
    }
    if (shebang.truncated) {
      push(
        'WARN_AGENTOS_BIN_SHEBANG_TRUNCATED',
        'has a "#!" line longer than the 256 bytes the runtime reads',
        'Shorten the interpreter line.',
        'warning',
      )
    }
  } else if (header.kind === 'wasm') {
    if (header.wasmLayer === 'component') {
      push(
        'ERR_AGENTOS_BIN_WASM_COMPONENT',
        'is a WebAssembly component; a component needs a WASI preview2 runtime',
        'Build a core module for wasm32-wasip1 (wasm32-wasi).',
      )
    } else if (header.wasmLayer !== 'core') {
      push(
        'ERR_AGENTOS_BIN_WASM_VERSION',
        `is WebAssembly with unknown version bytes ${header.wasmVersion || '(truncated)'}`,
        'Rebuild the module; a core module starts with 00 61 73 6d 01 00 00 00.',
      )
    }
  }
  return info
}

function ancestors(path: string): string[] {
  const parts = path.split('/')
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join('/'))
}

function checkTree(
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  problems: Problem[],
) {
  // A devDependency that some installed package needs at run time is part of the closure.
  const neededAtRuntime = new Set<string>()
  for (const [path, text] of snapshot.texts) {
    if (path === 'package.json') continue
    const pkg = parseJsonLenient(text) as {dependencies?: Record<string, unknown>} | undefined
    for (const dep of Object.keys(pkg?.dependencies ?? {})) neededAtRuntime.add(dep)
  }
  const devDependencies = new Set(
    Object.keys((packageJson?.devDependencies as Record<string, unknown> | undefined) ?? {}).filter(
      (name) => !neededAtRuntime.has(name),
    ),
  )
  for (const entry of snapshot.entries) {
    const {path} = entry
    for (const [pattern, what] of SOURCE_SMELLS) {
      if (pattern.test(path)) {
        problems.push({
          code: 'WARN_AGENTOS_SOURCE_ROOT',
          severity: 'warning',
          path,
          message: `${path} looks like ${what}: this seems to be a source root, not a clean package`,
          hint: 'Point at the output of `agentos-toolchain pack` or `assemble-wasm` (e.g. dist/package).',
        })
      }
    }
    if (entry.kind === 'symlink') {
      const inside = symlinkStaysInside(path, entry.linkTarget ?? '')
      if (inside && snapshot.origin.type === 'aospkg') {
        // The container keeps links and the runtime resolves them inside the archive (the
        // reference toolchain's bin/<cmd> links, for one); only a package shipped as files through
        // npm loses them, and the bin map never relies on them.
        problems.push({
          code: 'WARN_AGENTOS_AOSPKG_SYMLINK',
          severity: 'warning',
          path,
          message: `${path} is a symlink → ${entry.linkTarget}: the archive keeps it, a package directory shipped through npm would lose it`,
          hint: 'Nothing to do for the archive; a directory package should hold the real file instead.',
        })
        continue
      }
      problems.push({
        code: 'ERR_AGENTOS_SYMLINK',
        severity: 'error',
        path,
        message: `${path} is a symlink → ${entry.linkTarget}${inside ? '' : ' (pointing outside the package)'}`,
        hint: path.includes('node_modules/.bin/')
          ? 'Remove node_modules/.bin: the runtime links commands from the bin map itself.'
          : 'Replace the symlink with the real file: packages ship without symlinks.',
      })
    } else if (entry.kind === 'hardlink' || entry.kind === 'other') {
      problems.push({
        code: 'ERR_AGENTOS_SPECIAL_FILE',
        severity: 'error',
        path,
        message: `${path} is a ${entry.kind === 'hardlink' ? 'hard link' : 'device, FIFO or socket'}, which a package cannot hold`,
        hint: 'Keep only regular files and directories in the package.',
      })
    }
    const topModule = /^node_modules\/((@[^/]+\/)?[^/]+)$/.exec(path)
    if (topModule && entry.kind === 'dir' && devDependencies.has(topModule[1]!)) {
      problems.push({
        code: 'WARN_AGENTOS_DEV_DEPENDENCY_INSTALLED',
        severity: 'warning',
        path,
        message: `devDependency ${topModule[1]} is installed in node_modules`,
        hint: 'Ship only the production closure: run `agentos-toolchain pack`.',
      })
    }
    if (entry.kind !== 'file') continue
    if (path.endsWith('.node')) {
      problems.push({
        code: 'ERR_AGENTOS_NATIVE_ADDON',
        severity: 'error',
        path,
        message: `${path} is a native Node.js addon, which cannot load in agentOS`,
        hint: 'Re-run `agentos-toolchain pack --prune-native` if the addon is never loaded on the code path used.',
      })
      continue
    }
    if (!/(^|\/)node_modules\//.test(path)) continue
    const header = detectHeader(entry.head ?? Buffer.alloc(0))
    if (isNativeKind(header.kind)) {
      problems.push({
        code: 'ERR_AGENTOS_NATIVE_BINARY',
        severity: 'error',
        path,
        message: `${path} is a ${describeKind(header)}, which cannot run in agentOS`,
        hint: 'Re-run `agentos-toolchain pack --prune-native` to drop native binaries the package does not need.',
      })
    }
  }
}

function closurePackages(
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  problems: Problem[],
): ClosurePackage[] {
  const packages = new Map<string, ClosurePackage & {deps: string[]}>()
  for (const [path, text] of snapshot.texts) {
    if (path === 'package.json' || !path.endsWith('/package.json')) continue
    const dir = path.slice(0, -'/package.json'.length)
    const pkg = parseJsonLenient(text) as Record<string, unknown> | undefined
    const name = typeof pkg?.name === 'string' ? pkg.name : dir.slice(dir.lastIndexOf('node_modules/') + 13)
    const deps = Object.keys((pkg?.dependencies as Record<string, unknown> | undefined) ?? {})
    packages.set(dir, {
      name,
      version: typeof pkg?.version === 'string' ? pkg.version : '',
      path: dir,
      files: 0,
      bytes: 0,
      deps,
    })
  }
  if (packages.size === 0 && !packageJson) return []

  // Attribute every file to the innermost package directory that holds it.
  for (const entry of snapshot.entries) {
    if (entry.kind !== 'file') continue
    let dir = posix.dirname(entry.path)
    while (dir !== '.' && !packages.has(dir)) dir = posix.dirname(dir)
    const owner = packages.get(dir)
    if (owner) {
      owner.files++
      owner.bytes += entry.size
    }
  }

  const resolves = (fromDir: string, dep: string): boolean => {
    let dir = fromDir
    for (;;) {
      const candidate = dir === '' ? `node_modules/${dep}` : `${dir}/node_modules/${dep}`
      if (packages.has(candidate) || snapshot.byPath.get(candidate)?.kind === 'dir') return true
      if (dir === '') return false
      const parent = dir.lastIndexOf('/node_modules/')
      dir = parent < 0 ? '' : dir.slice(0, parent)
    }
  }
  const rootDeps = Object.keys((packageJson?.dependencies as Record<string, unknown> | undefined) ?? {})
  const checks: Array<[string, string, string[]]> = [['', 'package.json', rootDeps]]
  for (const pkg of packages.values()) checks.push([pkg.path, `${pkg.path}/package.json`, pkg.deps])
  for (const [dir, file, deps] of checks) {
    for (const dep of deps) {
      if (resolves(dir, dep)) continue
      problems.push({
        code: 'ERR_AGENTOS_DEP_MISSING',
        severity: 'error',
        path: `${file}#dependencies.${dep}`,
        message: `${file} depends on "${dep}", which is not in the package's node_modules`,
        hint: 'Re-pack so the whole production closure is included: `agentos-toolchain pack <project>`.',
      })
    }
  }
  return [...packages.values()]
    .map(({deps: _deps, ...rest}) => rest)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * A root descriptor that is there but has no text was too large to keep, or unreadable (already
 * reported as ERR_AGENTOS_READ_FAILED): "missing" would send the user looking for a file that
 * exists, so that problem is replaced by the real reason.
 */
function explainUnreadDescriptors(snapshot: PackageSnapshot, problems: Problem[]): void {
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

const SEVERITY_ORDER = {error: 0, warning: 1, info: 2}

/** Orders problems by severity, then path, then code, so reports are stable. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.path ?? '').localeCompare(b.path ?? '') ||
      a.code.localeCompare(b.code),
  )
}
