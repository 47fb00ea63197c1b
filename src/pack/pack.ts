import {realpathSync, statSync} from 'node:fs'
import {lstat, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, join, posix, relative, resolve, sep} from 'node:path'
import {mapLimit} from '../util/map-limit.js'
import {analyzePackage} from '../package/analyze.js'
import {
  archivePathFor,
  checkArchiveTarget,
  type OutputFormat,
  writeAospkg,
  type WrittenAospkg,
} from '../output/write-aospkg.js'
import {canCopyInWorkers, type CopyPool, startCopyPool} from '../output/copy-pool.js'
import type {CopyTree} from '../output/copy-protocol.js'
import {AgentosError, isAgentosError, type Problem} from '../errors.js'
import {normalizeBin, unscopedName} from '../format/bin-map.js'
import {detectHeader, nativeFileKind} from '../format/header.js'
import {parseJsonDocument, parseJsonLenient} from '../format/json.js'
import {checkManifest} from '../format/manifest.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {OUTPUT_MARKER, SNAPSHOT_BUNDLE_FILE} from '../format/paths.js'
import {
  checkTarget,
  commitStaging,
  writeOutputMarker,
  createStaging,
  discardStaging,
  type OutputFile,
  outputError,
  packageJsonText,
  type Staging,
  sortedMap,
  writePackageFiles,
} from '../output/output.js'
import type {PackageEntry} from '../package/snapshot.js'
import {loadNpmConfig, type NpmFlatOptions} from './npm-config.js'
import {classifySource, type PackSource} from './source.js'
import {type ArbNode, type Closure, type ClosureNode, type LeftOut, productionClosure} from './tree.js'
import {listPackage, packageHasFile} from '../output/walk.js'

/** The steps `pack` reports progress for, in order. */
export const PACK_STEPS = {
  resolve: 'Resolve the source and its production closure',
  install: 'Install the closure into a staging directory',
  bins: 'Plan the files and rewrite the bin map',
  copy: 'Copy the closure',
  check: 'Check native code and validate',
  write: 'Write the package into place',
} as const

/** Identifier of a pack step. */
export type PackStep = keyof typeof PACK_STEPS

/** Progress callbacks; `pack` never prints. */
export interface PackReporter {
  start?(step: PackStep): void
  done?(step: PackStep, detail?: string): void
  skip?(step: PackStep, reason: string): void
}

/** Options of {@link pack}. */
export interface PackOptions {
  /** Project directory, `.tgz`/`.tar`, or registry spec. */
  source: string
  /** Where relative paths resolve (default: process.cwd()). */
  cwd?: string
  /** Output: the package dir (flat layout) or the store root (versioned layout). */
  out?: string
  /** `flat` → out is the package; `versioned` → out/<name>/<version> plus out/<name>/current. */
  layout?: 'flat' | 'versioned'
  /** Command to record as `agent.acpEntrypoint`. */
  agent?: string
  /** Replace a foreign non-empty target; override a different declared acpEntrypoint. */
  force?: boolean
  /** Delete native addons/binaries from the closure instead of failing. */
  pruneNative?: boolean
  /**
   * Keep the agentOS archive the packed package ships of itself (`dist/package.aospkg`), which is
   * otherwise left out: the package it holds is what is being packed.
   */
  keepOwnAospkg?: boolean
  /** Install when the local tree is missing or unsatisfied (default true). */
  install?: boolean
  /** Use only the npm cache. */
  offline?: boolean
  /** Prefer cached metadata over revalidating with the registry. */
  preferOffline?: boolean
  /** Registry URL overriding the npm configuration. */
  registry?: string
  /** Also write a deterministic tarball of the package here. */
  tar?: string
  /**
   * `dir` (default): the package directory; `aospkg`: `<out>.aospkg` instead of it (an `out`
   * ending in `.aospkg` names the archive); `both`: the directory and `<out>.aospkg` beside it.
   */
  format?: OutputFormat
  reporter?: PackReporter
}

/** One closure package in the report, with why it was included. */
export interface PackedPackage {
  name: string
  version: string
  path: string
  why: string[]
}

/** A native file removed by `--prune-native`, or found without it. */
export interface NativeFile {
  package: string
  path: string
  kind: string
  bytes: number
}

/** Result of {@link pack}. */
export interface PackResult {
  name: string
  npmName: string
  version: string
  /** The package directory written (with format `aospkg`: the archive). */
  out: string
  format: OutputFormat
  /** The archive, with format `aospkg` or `both`. */
  aospkg?: Pick<WrittenAospkg, 'path' | 'sha256' | 'bytes'>
  layout: 'flat' | 'versioned'
  /** For the versioned layout: the `current` pointer updated to this version. */
  current?: string
  digest: string
  commands: Array<{name: string; entry: string}>
  packages: number
  files: number
  bytes: number
  pruned: NativeFile[]
  prunedBytes: number
  warnings: Problem[]
  /** `lockfile`: the project's lockfile the closure was installed from (exactly, as `npm ci`). */
  source: {kind: PackSource['kind']; spec: string; installed: boolean; lockfile?: LockfileName}
  closure: {packages: PackedPackage[]; leftOut: LeftOut[]; leftOutFiles: LeftOutFile[]}
  tar?: {path: string; sha256: string; bytes: number}
  /**
   * The agent SDK bundle placed at the package root, where the runtime loads it for
   * `agent.snapshot: true` (`from`: where it was in the closure).
   */
  snapshotBundle?: {path: string; from: string; bytes: number; sha256File?: string}
}

/**
 * Packs a Node.js project, package tarball or registry spec into a self-contained agentOS package:
 * the production closure as a flat `node_modules`, a `package.json` whose bin map points at real
 * files, and `agentos-package.json`. Everything is validated before the package is moved into
 * place; on any failure the target is exactly as before.
 */
export async function pack(options: PackOptions): Promise<PackResult> {
  const cwd = resolve(options.cwd ?? process.cwd())
  const report = options.reporter ?? {}
  const scratch: string[] = []
  let staging: Staging | undefined
  let pool: CopyPool | undefined
  try {
    report.start?.('resolve')
    const source = await classifySource(options.source, cwd)
    let resolved = source.kind === 'directory' ? await fromInstalledTree(source.path) : undefined
    if (resolved && source.kind === 'directory' && resolved.closure.missing.length > 0) {
      const member = await workspaceMember(source.path)
      if (member && member.closure.missing.length === 0) resolved = member
    }
    if (resolved && resolved.closure.missing.length > 0) {
      if (options.install === false) {
        const names = resolved.closure.missing.map((m) => `${m.name}@${m.spec} (needed by ${m.from})`)
        throw new AgentosError(
          'ERR_AGENTOS_PACK_DEPS_MISSING',
          `the installed node_modules does not satisfy ${names.length} production dependencies: ${names.join(', ')}`,
          {
            hint: 'Run `npm install` in the project, or drop --no-install to install into a staging dir.',
            path: source.spec,
          },
        )
      }
      resolved = undefined
    }
    report.done?.(
      'resolve',
      resolved ? 'using the installed node_modules' : `install needed for ${source.spec}`,
    )

    if (resolved) {
      report.skip?.('install', 'the installed tree satisfies the production dependencies')
    } else {
      report.start?.('install')
      const dir = await mkdtemp(join(tmpdir(), 'agentos-pack-install-'))
      scratch.push(dir)
      // Only an install needs the user's npm configuration (read lazily: loading it costs about
      // 0.1 s, a tenth of packing a whole installed project).
      const npmConfig = await loadNpmConfig(source.kind === 'directory' ? source.path : cwd, {
        offline: options.offline,
        preferOffline: options.preferOffline,
        registry: options.registry,
      })
      const lockfile = source.kind === 'directory' ? await projectLockfile(source.path) : undefined
      resolved =
        source.kind === 'directory' && lockfile
          ? await installFromLockfile(source.path, lockfile, dir, npmConfig, source)
          : await installIntoStaging(source, dir, npmConfig)
      report.done?.('install', `${resolved.closure.nodes.length} packages`)
    }
    const {root, rootDir, closure} = resolved
    // A closure this big has hundreds of files: its copy threads start now, while the files are
    // listed and checked, instead of after.
    if (closure.nodes.length >= POOL_MIN_PACKAGES && canCopyInWorkers()) pool = startCopyPool()
    const npmName = String(root.package.name ?? root.packageName)
    const version = String(root.package.version ?? '')
    if (!version) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_NO_VERSION',
        `${npmName} has no "version" in its package.json`,
        {
          hint: 'Add a version to package.json.',
          path: join(rootDir, 'package.json'),
        },
      )
    }

    // Everything about the inputs is checked before a byte is written.
    report.start?.('bins')
    const manifestInput = await readSourceManifest(rootDir)
    const rootOut = `node_modules/${closure.nodes[0]!.out.slice('node_modules/'.length)}`
    // With copy threads, installed packages are listed by the threads as they copy them (trees);
    // the project's own files, chosen like `npm pack`, are always listed here.
    const {files, trees} = await planFiles(resolved, pool !== undefined)
    const planned = new Map(files.map((file) => [file.path, file]))
    const inTree = (path: string): OutputFile | undefined => {
      const tree = trees
        .filter((t) => path.startsWith(`${t.out}/`))
        .sort((a, b) => b.out.length - a.out.length)[0]
      if (!tree) return undefined
      const rel = path.slice(tree.out.length + 1)
      return packageHasFile(tree.source, rel) ? {path, source: join(tree.source, rel)} : undefined
    }
    const has = (path: string) => planned.has(path) || inTree(path) !== undefined
    const leftOutFiles = options.keepOwnAospkg
      ? []
      : leaveOutOwnAospkg(rootOut, files, planned, trees, inTree)
    const bin = normalizeBin(root.package)
    // npm rewrites unsafe bin names and paths as it reads them ("a/b" → "b", "../x" → "x", ".."
    // dropped): the map as written is judged too, so such a package is refused with the reason
    // instead of being packed under other command names or refused as having no commands.
    const asWritten = normalizeBin(
      parseJsonLenient(await readFile(join(rootDir, 'package.json'), 'utf8').catch(() => '')),
    )
    const binErrors = [
      ...asWritten.problems.filter((p) => UNSAFE_BIN_CODES.has(p.code)),
      ...bin.problems.filter((p) => p.severity === 'error'),
    ]
    if (binErrors.length > 0) {
      throw new AgentosError('ERR_AGENTOS_PACK_BIN_INVALID', `${npmName}: ${binErrors[0]!.message}`, {
        hint: binErrors[0]!.hint,
        path: join(rootDir, 'package.json'),
        details: binErrors,
      })
    }
    if (bin.commands.length === 0) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_NO_BIN',
        `${npmName} declares no commands in package.json "bin"`,
        {
          hint:
            source.kind === 'directory'
              ? 'Add "bin": {"my-tool": "cli.js"} to the package.json of the project.'
              : `${source.spec} is a library, not a command: pack a project that depends on it and declares a "bin" that uses it.`,
          path: join(rootDir, 'package.json'),
        },
      )
    }
    const warnings: Problem[] = bin.problems.filter((p) => p.severity !== 'error')
    const commands: Array<{name: string; entry: string}> = []
    for (const command of bin.commands) {
      const entry = resolveBinEntry(command.entry, rootOut, has)
      if (!entry) {
        throw new AgentosError(
          'ERR_AGENTOS_PACK_BIN_NOT_FOUND',
          `bin "${command.name}" → ${command.entry} is not in the package or its hoisted dependencies`,
          {
            hint: 'Fix the bin path in package.json, or add the file to the package "files" list.',
            path: join(rootDir, 'package.json'),
          },
        )
      }
      let file = planned.get(entry)
      if (!file) {
        // A command entry in a tree is given by path, so that it can be changed (exec bit, shebang).
        file = inTree(entry)!
        planned.set(entry, file)
        files.push(file)
      }
      file.executable = true
      const bytes = typeof file.source === 'string' ? await readFile(file.source) : Buffer.from(file.source)
      const header = detectHeader(bytes.subarray(0, 4096))
      if (header.kind === 'unknown' && !header.bomShebang && /\.(c|m)?js$/.test(entry)) {
        // A JS entry without a shebang cannot be executed by the runtime's header dispatch.
        file.source = Buffer.concat([Buffer.from('#!/usr/bin/env node\n'), bytes])
        warnings.push({
          code: 'WARN_AGENTOS_PACK_SHEBANG_ADDED',
          severity: 'warning',
          path: entry,
          message: `added "#!/usr/bin/env node" to ${entry} (command "${command.name}")`,
          hint: 'Add the shebang to the source file so the package works without this rewrite.',
        })
      }
      commands.push({name: command.name, entry})
    }
    const bundle = findSnapshotBundle(rootOut, planned, inTree)
    const manifest = buildManifest(manifestInput, npmName, version, commands, options, bundle !== undefined)
    const placedBundle = (manifest.agent as {snapshot?: boolean} | undefined)?.snapshot ? bundle : undefined
    if (placedBundle) files.push(...placedBundle.files)
    report.done?.('bins', commands.map((c) => c.name).join(', '))

    // Where it goes.
    const layout = options.layout ?? (source.kind === 'registry' ? 'versioned' : 'flat')
    const outRoot = resolve(
      cwd,
      options.out ?? (layout === 'versioned' ? 'packages' : `${unscopedName(npmName)}-package`),
    )
    const target = layout === 'versioned' ? join(outRoot, manifest.name as string, version) : outRoot
    const sources = source.kind === 'directory' ? [source.path] : []
    const format = options.format ?? 'dir'
    const archive = format === 'dir' ? undefined : archivePathFor(target, format)
    if (layout === 'versioned') await checkStoreOwner(join(outRoot, manifest.name as string), npmName)
    if (format !== 'aospkg') await checkTarget(target, {force: options.force, sources})
    if (archive) await checkArchiveTarget(archive, {force: options.force})
    if (options.tar) {
      const {checkTarballTarget} = await import('../output/write-tgz.js')
      await checkTarballTarget(resolve(cwd, options.tar), {force: options.force, sources})
    }
    leaveOutOwnOutputs(files, [
      layout === 'versioned' ? outRoot : target,
      ...(archive ? [archive] : []),
      ...(options.tar ? [resolve(cwd, options.tar)] : []),
    ])

    report.start?.('copy')
    files.push(
      {
        path: 'package.json',
        source: Buffer.from(packageJsonText(packageJsonFor(npmName, version, commands))),
        executable: false,
      },
      {path: MANIFEST_FILE, source: Buffer.from(packageJsonText(manifest)), executable: false},
    )
    staging = await createStaging(target)
    const commandPaths = new Set(commands.map((c) => c.entry))
    // With --prune-native, native files are recognised by their first bytes as they stream by and
    // never written; a command entry is never pruned (the package would be useless without it).
    const pruneNative = options.pruneNative ? {keep: [...commandPaths]} : undefined
    const {snapshot, skipped} = await writePackageFiles(staging.dir, files, {pruneNative, pool, trees}).catch(
      (error: NodeJS.ErrnoException) => {
        throw error instanceof AgentosError ? error : outputError(error, target)
      },
    )
    const fileEntries = snapshot.entries.filter((e) => e.kind === 'file')
    report.done?.('copy', `${fileEntries.length} files`)

    report.start?.('check')
    const natives = findNatives(snapshot.entries, closure)
    if (natives.length > 0) {
      const nativeCommand = natives.find((n) => commandPaths.has(n.path))
      const list = natives.slice(0, 5).map((n) => `${n.package} ${n.path} (${n.kind})`)
      throw new AgentosError(
        'ERR_AGENTOS_PACK_NATIVE',
        `the closure holds ${natives.length} native file${natives.length === 1 ? '' : 's'}, which cannot run in agentOS: ${list.join(', ')}${natives.length > 5 ? ', …' : ''}`,
        {
          hint: nativeCommand
            ? `Command entry ${nativeCommand.path} is native itself; it cannot be pruned.`
            : 'Re-run with --prune-native if they are never loaded on the code path the commands use.',
          details: natives,
        },
      )
    }
    const pruned = findNatives(skipped, closure)
    warnings.push(...platformPruneWarnings(pruned, closure, commands))
    const {problems} = analyzePackage(snapshot)
    const errors = problems.filter((p) => p.severity === 'error')
    if (errors.length > 0) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_INVALID',
        `the packed output fails validation: ${errors[0]!.code} ${errors[0]!.path ?? ''} ${errors[0]!.message}`,
        {hint: 'See details for every problem; fix the source package.', details: errors},
      )
    }
    warnings.push(...problems.filter((p) => p.severity === 'warning'))
    report.done?.('check', pruned.length > 0 ? `pruned ${pruned.length} native files` : 'valid')

    report.start?.('write')
    // The archive is written from the staged tree, before the directory (if any) is committed.
    const written = archive ? await writeAospkg(staging.dir, archive, {snapshot}) : undefined
    // With format aospkg the staged tree is only the archive's source; `finally` discards it.
    const contentDir = format === 'aospkg' ? staging.dir : target
    let current: string | undefined
    if (format !== 'aospkg') {
      await writeOutputMarker(staging.dir, snapshot.digest!)
      await commitStaging(staging).catch((error: NodeJS.ErrnoException) => {
        throw outputError(error, target)
      })
      staging = undefined
      // `current` points at version directories; an archive alone leaves it as it was.
      if (layout === 'versioned')
        current = await pointCurrent(join(outRoot, manifest.name as string), version)
    }
    let tar: PackResult['tar']
    if (options.tar) {
      const {writePackageTarball} = await import('../output/write-tgz.js')
      tar = await writePackageTarball(contentDir, resolve(cwd, options.tar))
    }
    const out = format === 'aospkg' ? archive! : target
    report.done?.('write', format === 'both' ? `${target} and ${archive}` : out)

    return {
      name: manifest.name as string,
      npmName,
      version,
      out,
      format,
      ...(written ? {aospkg: {path: written.path, sha256: written.sha256, bytes: written.bytes}} : {}),
      layout,
      ...(current ? {current} : {}),
      digest: snapshot.digest!,
      commands,
      packages: closure.nodes.length,
      files: fileEntries.length,
      bytes: fileEntries.reduce((sum, e) => sum + e.size, 0),
      pruned,
      prunedBytes: pruned.reduce((sum, n) => sum + n.bytes, 0),
      warnings,
      source: {
        kind: source.kind,
        spec: source.spec,
        installed: scratch.length > 0,
        ...(resolved.lockfile ? {lockfile: resolved.lockfile} : {}),
      },
      closure: {
        packages: closure.nodes.map((n) => ({
          name: n.node.packageName,
          version: n.node.version,
          path: n.out,
          why: n.why,
        })),
        leftOut: closure.leftOut,
        leftOutFiles,
      },
      ...(tar ? {tar} : {}),
      ...(placedBundle
        ? {
            snapshotBundle: {
              path: SNAPSHOT_BUNDLE_FILE,
              from: placedBundle.from,
              bytes: snapshot.byPath.get(SNAPSHOT_BUNDLE_FILE)?.size ?? 0,
              ...(placedBundle.files.length > 1 ? {sha256File: `${SNAPSHOT_BUNDLE_FILE}.sha256`} : {}),
            },
          }
        : {}),
    }
  } catch (error) {
    throw withoutScratchPath(error, scratch, options.source)
  } finally {
    pool?.dispose()
    if (staging) await discardStaging(staging)
    for (const dir of scratch) await rm(dir, {recursive: true, force: true})
  }
}

/** A resolved closure: the package being packed, where its files are, and what it needs. */
interface Resolved {
  root: ArbNode
  rootDir: string
  /** True when the root is the user's project (files chosen like `npm pack`). */
  project: boolean
  closure: Closure
  /**
   * The project as a node of its own folder, when `root` is a staging copy of it (installed from
   * its lockfile): its own files are listed from here.
   */
  rootFiles?: ArbNode
  /** The lockfile the closure was installed from. */
  lockfile?: LockfileName
}

async function loadArborist(): Promise<typeof import('@npmcli/arborist')> {
  return (await import('@npmcli/arborist')).default as unknown as typeof import('@npmcli/arborist')
}

/** The closure from a project's own installed node_modules: no network, no install. */
async function fromInstalledTree(dir: string): Promise<Resolved> {
  const Arborist = await loadArborist()
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  if (!tree.package.name) {
    // Arborist reads a broken package.json as an empty one: say what is wrong with it instead.
    const file = join(dir, 'package.json')
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? undefined : error,
    )
    if (text instanceof Error) {
      throw new AgentosError('ERR_AGENTOS_SOURCE_UNREADABLE', `cannot read ${file}: ${text.code}`, {
        hint: 'Make package.json readable (chmod u+r).',
        path: file,
        cause: text,
      })
    }
    if (text !== undefined && parseJsonLenient(text) === undefined) {
      // npm tolerates a byte order mark here, so only the syntax is judged.
      const problem = parseJsonDocument(text.replace(/^\uFEFF/, ''), 'package.json').problems[0]!
      throw new AgentosError('ERR_AGENTOS_PACK_PACKAGE_JSON_INVALID', `${file}: ${problem.message}`, {
        hint: problem.hint,
        path: file,
        details: [problem],
      })
    }
    throw new AgentosError('ERR_AGENTOS_PACK_NO_PACKAGE_JSON', `${dir} has no package.json with a "name"`, {
      hint: 'Pack a project directory with a package.json (name, version, bin).',
      path: join(dir, 'package.json'),
    })
  }
  return {root: tree, rootDir: dir, project: true, closure: projectClosure(tree)}
}

/** The closure of a project tree, each package re-homed under the flat output's node_modules. */
function projectClosure(tree: ArbNode, start: ArbNode = tree): Closure {
  const rootOut = `node_modules/${String(start.package.name)}`
  const links = new Map<string, string>()
  const outOf = (node: ArbNode): string => {
    if (node === start) return rootOut
    // A workspace member's own nested packages (packages/cli/node_modules/x) go under it.
    if (start.location !== '' && node.location.startsWith(`${start.location}/`))
      return rootOut + node.location.slice(start.location.length)
    if (node.isLink) {
      links.set(node.target.location, node.location)
      return node.location
    }
    if (node.location.startsWith('node_modules/')) return node.location
    // A package inside a workspace or file: dependency's own folder: re-home it under the link.
    for (const [targetLocation, linkLocation] of links) {
      if (node.location === targetLocation) return linkLocation
      if (node.location.startsWith(`${targetLocation}/`))
        return linkLocation + node.location.slice(targetLocation.length)
    }
    return node.location
  }
  return productionClosure(start, outOf)
}

/**
 * A workspace member as npm (or yarn) installs it: its dependencies hoisted to the workspace
 * root's node_modules, its siblings linked there. The member's closure is read from the root's
 * installed tree, as `pnpm deploy` would take it; undefined when `dir` is no member of an
 * installed workspace.
 */
async function workspaceMember(dir: string): Promise<Resolved | undefined> {
  const member = realpathOrNull(dir)
  if (!member) return undefined
  for (let parent = dirname(member); parent !== dirname(parent); parent = dirname(parent)) {
    const text = await readFile(join(parent, 'package.json'), 'utf8').catch(() => undefined)
    if (text === undefined) continue
    const workspaces = (parseJsonLenient(text) as {workspaces?: unknown} | undefined)?.workspaces
    if (workspaces === undefined) continue
    const Arborist = await loadArborist()
    const tree = (await new Arborist({path: parent}).loadActual()) as unknown as ArbNode
    const location = relative(tree.realpath, member).split(sep).join('/')
    const {inventory, workspaces: members} = tree as unknown as {
      inventory: Map<string, ArbNode>
      workspaces?: Map<string, string>
    }
    const node = inventory.get(location)
    if (!node || !members?.has(String(node.package.name))) return undefined
    return {root: node, rootDir: member, project: true, closure: projectClosure(tree, node)}
  }
  return undefined
}

/** A project lockfile, in the order `npm ci` reads them. */
type LockfileName = 'npm-shrinkwrap.json' | 'package-lock.json'

async function projectLockfile(dir: string): Promise<LockfileName | undefined> {
  for (const name of ['npm-shrinkwrap.json', 'package-lock.json'] as const) {
    if (
      await lstat(join(dir, name)).then(
        (info) => info.isFile(),
        () => false,
      )
    )
      return name
  }
  return undefined
}

/**
 * Installs a project's production closure exactly as its lockfile says, as `npm ci --omit=dev`
 * would: the project's package.json and lockfile are copied into the scratch directory and reified
 * there (no scripts), after the lockfile is checked against package.json. Without this, a project
 * with no node_modules was packed with whatever the registry served that day.
 */
async function installFromLockfile(
  projectDir: string,
  lockfile: LockfileName,
  dir: string,
  npmConfig: NpmFlatOptions,
  source: PackSource,
): Promise<Resolved> {
  const Arborist = await loadArborist()
  for (const file of ['package.json', lockfile]) {
    await writeFile(join(dir, file), await readFile(join(projectDir, file)))
  }
  const options = {
    ...npmConfig,
    path: dir,
    omit: ['dev'],
    ignoreScripts: true,
    audit: false,
    fund: false,
    save: false,
  }
  const arborist = new Arborist(options as never)
  const locked = (await arborist.loadVirtual().catch((error: Error) => {
    throw new AgentosError(
      'ERR_AGENTOS_PACK_LOCKFILE_INVALID',
      `${join(projectDir, lockfile)}: ${error.message}`,
      {
        hint: 'Regenerate it with `npm install --package-lock-only`.',
        path: join(projectDir, lockfile),
        cause: error,
      },
    )
  })) as unknown as ArbNode
  for (const edge of locked.edgesOut.values()) {
    const optional = edge.type === 'optional' || edge.type === 'peerOptional'
    if (edge.type === 'dev' || !(edge.invalid || (edge.missing && !optional))) continue
    const lockedVersion = edge.to?.version
    throw new AgentosError(
      'ERR_AGENTOS_PACK_LOCKFILE_MISMATCH',
      `${lockfile} does not satisfy package.json: ${edge.name}@${edge.spec} is ${
        lockedVersion ? `locked at ${lockedVersion}` : 'not in the lockfile'
      }`,
      {
        hint: 'Run `npm install` to update the lockfile (as `npm ci` would refuse it too), or install node_modules.',
        path: join(projectDir, lockfile),
      },
    )
  }
  try {
    await arborist.reify(options as never)
  } catch (error) {
    throw installError(error as NodeJS.ErrnoException & {uri?: string}, source, npmConfig)
  }
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  const rootFiles = (await new Arborist({path: projectDir}).loadActual()) as unknown as ArbNode
  const closure = projectClosure(tree)
  if (closure.missing.length > 0) {
    const names = closure.missing.map((m) => `${m.name}@${m.spec}`)
    throw new AgentosError(
      'ERR_AGENTOS_PACK_DEPS_MISSING',
      `the install left dependencies unsatisfied: ${names.join(', ')}`,
      {
        hint: `Check ${lockfile} against package.json.`,
        path: join(projectDir, lockfile),
      },
    )
  }
  return {root: tree, rootDir: projectDir, project: true, closure, rootFiles, lockfile}
}

/**
 * Installs the source into a scratch directory with arborist, the way `npm install --omit=dev
 * --install-strategy=hoisted --ignore-scripts` would, and returns the closure of the installed
 * package.
 */
async function installIntoStaging(
  source: PackSource,
  dir: string,
  npmConfig: NpmFlatOptions,
): Promise<Resolved> {
  const Arborist = await loadArborist()
  const spec = source.kind === 'registry' ? source.spec : `file:${source.path}`
  await writeFile(join(dir, 'package.json'), '{"private": true}\n')
  const arborist = new Arborist({
    ...npmConfig,
    path: dir,
    // Hoisted gives the flat node_modules the runtime expects; no scripts run on a packer's
    // machine; dev dependencies are never part of a package.
    installStrategy: 'hoisted',
    omit: ['dev'],
    ignoreScripts: true,
    // A local directory is copied (as npm pack would), never linked.
    installLinks: true,
    audit: false,
    fund: false,
    save: true,
  } as never)
  try {
    await arborist.reify({add: [spec]} as never)
  } catch (error) {
    throw installError(error as NodeJS.ErrnoException & {uri?: string}, source, npmConfig)
  }
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const [name] = Object.keys(pkg.dependencies ?? {})
  const edge = name ? tree.edgesOut.get(name) : undefined
  const root = edge?.to
  if (!root) throw new Error(`arborist installed ${spec} but the tree has no node for it`)
  const real = root.isLink ? root.target : root
  const closure = productionClosure(real, (node) => (node === real ? root.location : node.location))
  if (closure.missing.length > 0) {
    const names = closure.missing.map((m) => `${m.name}@${m.spec}`)
    throw new AgentosError(
      'ERR_AGENTOS_PACK_DEPS_MISSING',
      `the install left dependencies unsatisfied: ${names.join(', ')}`,
      {
        hint: 'Check the package versions the registry offers.',
      },
    )
  }
  return {root: real, rootDir: real.realpath, project: false, closure}
}

function installError(
  error: NodeJS.ErrnoException & {uri?: string; pkgid?: string},
  source: PackSource,
  npmConfig: NpmFlatOptions,
): Error {
  const registry = String(npmConfig.registry ?? 'https://registry.npmjs.org/')
  const what = error.pkgid ?? packageFromUri(error.uri) ?? source.spec
  switch (error.code) {
    case 'E404':
      return new AgentosError('ERR_AGENTOS_PACK_NOT_FOUND', `${what} is not in the registry ${registry}`, {
        hint: 'Check the package name and scope, or the registry configured for that scope.',
        cause: error,
      })
    case 'ETARGET':
      return new AgentosError(
        'ERR_AGENTOS_PACK_NO_MATCHING_VERSION',
        `no version of ${what} matches the spec`,
        {
          hint: 'Check the version range or dist-tag.',
          cause: error,
        },
      )
    case 'ENOTCACHED':
      return new AgentosError('ERR_AGENTOS_PACK_NOT_CACHED', `${what} is not in the npm cache (offline)`, {
        hint: 'Run once without --offline to fill the cache, or use --prefer-offline.',
        cause: error,
      })
    case 'E401':
    case 'E403':
      return new AgentosError(
        'ERR_AGENTOS_PACK_REGISTRY_AUTH',
        `the registry ${registry} refused access to ${what} (${error.code})`,
        {
          hint: 'Log in (npm login) or set an auth token for this registry in .npmrc.',
          cause: error,
        },
      )
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new AgentosError(
        'ERR_AGENTOS_PACK_REGISTRY_UNREACHABLE',
        `cannot reach the registry ${registry} (${error.code})`,
        {
          hint: 'Check the network or proxy settings, or run with --offline to use the npm cache.',
          cause: error,
        },
      )
    case 'EINVALIDPACKAGENAME':
    case 'EINVALIDTAGNAME':
      return new AgentosError(
        'ERR_AGENTOS_PACK_SPEC_INVALID',
        `"${source.spec}" is not a valid package spec`,
        {
          hint: 'Use name, name@version, name@tag, @scope/name@range or alias@npm:name@range.',
          cause: error,
        },
      )
    default:
      if (error.code?.startsWith('E') && /^E\d{3}$/.test(error.code)) {
        return new AgentosError(
          'ERR_AGENTOS_PACK_REGISTRY_ERROR',
          `the registry ${registry} answered ${error.code} for ${what}`,
          {
            hint: 'Retry later, or check the registry configuration.',
            cause: error,
          },
        )
      }
      // A tarball that is empty (ENODATA from the npm cache), not gzip/tar, or cut short.
      if (source.kind === 'tarball' && (error.code === 'ENODATA' || /^(TAR|Z)_/.test(error.code ?? ''))) {
        return new AgentosError(
          'ERR_AGENTOS_PACK_TARBALL_CORRUPT',
          `${source.spec} is not a readable package tarball: ${error.message}`,
          {
            hint: 'Pass a .tgz made by npm pack (or agentos-toolchain pack --tar), or the project directory.',
            path: source.spec,
            cause: error,
          },
        )
      }
      return error
  }
}

function packageFromUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined
  try {
    const path = decodeURIComponent(new URL(uri).pathname).replace(/^\/+/, '')
    return path.split('/-/')[0] || undefined
  } catch {
    return undefined
  }
}

/** Closure size from which pack starts its copy threads before planning (see startCopyPool). */
const POOL_MIN_PACKAGES = 20

// Bin problems of the map as written that npm's rewriting would hide (see pack()).
const UNSAFE_BIN_CODES = new Set(['ERR_AGENTOS_BIN_NAME_INVALID', 'ERR_AGENTOS_BIN_ENTRY_ESCAPES'])

/**
 * The files to write: each closure package's own files under its output directory. With
 * `walkLater`, installed packages are returned as trees for the copy threads to list as they copy
 * them; else every file is listed here.
 */
async function planFiles(
  resolved: Resolved,
  walkLater: boolean,
): Promise<{files: OutputFile[]; trees: CopyTree[]}> {
  const {default: packlist} = await import('npm-packlist')
  const trees: CopyTree[] = []
  const perPackage = await mapLimit(resolved.closure.nodes, 8, async ({node, out}) => {
    // Packages that come from the user's own folders (the project, workspaces, file: deps) ship
    // what `npm pack` would ship; packages installed from tarballs already are exactly that.
    const local = resolved.project && (node === resolved.root || !/(^|\/)node_modules\//.test(node.location))
    if (!local && walkLater) {
      trees.push({source: node.realpath, out})
      return []
    }
    // A staging copy of the project lists the project's own folder.
    const own = node === resolved.root && resolved.rootFiles ? resolved.rootFiles : node
    const relativeFiles = local
      ? (await packlist(own as never)).filter(
          // A workspace's list also names its hoisted dependencies (../../node_modules/…): those
          // are closure packages of their own.
          (f) => !f.startsWith('node_modules/') && !f.startsWith('../'),
        )
      : listPackage(node.realpath)
    return relativeFiles.map((file): OutputFile => ({
      path: `${out}/${file}`,
      source: join(own.realpath, file),
    }))
  })
  return {files: perPackage.flat(), trees}
}

/**
 * An error whose path lies in a scratch install directory names the registry spec instead: the
 * directory is deleted before the user reads the error (`--json` used to show a dead temp path).
 */
function withoutScratchPath(error: unknown, scratch: readonly string[], spec: string): unknown {
  if (!isAgentosError(error) || error.path === undefined) return error
  const dir = scratch.find((d) => error.path === d || error.path!.startsWith(`${d}${sep}`))
  if (!dir) return error
  const inside = error.path.slice(dir.length + 1).replace(/^node_modules\/(@[^/]+\/)?[^/]+\/?/, '')
  return new AgentosError(error.code, error.message, {
    hint: error.hint,
    path: inside ? `${spec}:${inside}` : spec,
    exitCode: error.exitCode,
    details: error.details,
    cause: error,
  })
}

/**
 * In the versioned store, `<out>/<name>/` holds the versions of one npm package: `@a/biome` and
 * `@b/biome` both have the agentOS name `biome`, and the second must not be filed (and `current`
 * repointed) among the first one's versions.
 */
async function checkStoreOwner(storeDir: string, npmName: string): Promise<void> {
  const entries = await readdir(storeDir, {withFileTypes: true}).catch(() => [])
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const text = await readFile(join(storeDir, entry.name, 'package.json'), 'utf8').catch(() => undefined)
    const owner = (parseJsonLenient(text ?? '') as {name?: unknown} | undefined)?.name
    if (typeof owner === 'string' && owner !== npmName) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_STORE_NAME_TAKEN',
        `${storeDir} holds versions of ${owner}, not ${npmName}: both have the agentOS name ${JSON.stringify(basename(storeDir))}`,
        {
          hint: 'Pack one of them into another --out store, or give it another "name" in its agentos-package.json.',
          path: join(storeDir, entry.name, 'package.json'),
        },
      )
    }
  }
}

/**
 * Portable stand-ins for well-known packages whose work is done by a platform-specific binary
 * package (an optional dependency with `os`/`cpu`), which `--prune-native` removes.
 */
const PORTABLE_ALTERNATIVES: Record<string, string> = {
  esbuild: 'esbuild-wasm (the same API, in WebAssembly)',
  typescript: 'typescript@5 (the JavaScript compiler; typescript@7 is a native binary)',
  '@typescript/native-preview': 'typescript@5 (the JavaScript compiler)',
  '@biomejs/biome': 'none published: run Biome outside the VM, or use prettier/eslint inside it',
}

/**
 * After `--prune-native`: a pruned file of a platform-specific package (`os` or `cpu` in its
 * package.json, like `@esbuild/linux-x64`) is the binary its parent package runs, so the package
 * is valid but the commands that reach the parent fail at their first call. One warning per such
 * package, naming the commands and, for well-known parents, the portable alternative.
 */
function platformPruneWarnings(
  pruned: readonly NativeFile[],
  closure: Closure,
  commands: ReadonlyArray<{name: string}>,
): Problem[] {
  const warnings: Problem[] = []
  const owners = [...closure.nodes].sort((a, b) => b.out.length - a.out.length)
  const byOwner = new Map<ClosureNode, string[]>()
  for (const file of pruned) {
    const owner = owners.find((o) => file.path.startsWith(`${o.out}/`))
    if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), file.path])
  }
  for (const [owner, files] of byOwner) {
    const pkg = owner.node.package as {os?: unknown; cpu?: unknown}
    if (pkg.os === undefined && pkg.cpu === undefined) continue
    const name = owner.node.packageName
    const parent = owner.why.length >= 2 ? owner.why[owner.why.length - 2]! : name
    const alternative = PORTABLE_ALTERNATIVES[parent] ?? PORTABLE_ALTERNATIVES[name]
    warnings.push({
      code: 'WARN_AGENTOS_PACK_PLATFORM_BINARY_PRUNED',
      severity: 'warning',
      path: files[0],
      message: `pruned ${name}, the platform binary ${parent} runs (${files.length} file${files.length === 1 ? '' : 's'}): ${commands.map((c) => c.name).join(', ')} will fail where ${parent} is loaded`,
      hint: alternative
        ? `Depend on ${alternative} instead of ${parent}.`
        : `Use a build of ${parent} without native code, or keep the command off the code path that loads it.`,
    })
  }
  return warnings
}

/** A file of the closure that pack left out, and why. */
export interface LeftOutFile {
  /** Package-relative path it would have had. */
  path: string
  bytes: number
  /** `own-aospkg`: the packed package's own agentOS archive (keep it with `keepOwnAospkg`). */
  reason: 'own-aospkg'
}

/**
 * Leaves out the agentOS archive a published agentOS package ships of itself
 * (`dist/package.aospkg`, as the `@agentos-software/*` packages do): it holds the package being
 * packed, so copying it would ship everything twice (pi: 131 MB of a 252 MB package).
 */
function leaveOutOwnAospkg(
  rootOut: string,
  files: OutputFile[],
  planned: Map<string, OutputFile>,
  trees: CopyTree[],
  inTree: (path: string) => OutputFile | undefined,
): LeftOutFile[] {
  const path = `${rootOut}/${OWN_AOSPKG}`
  const file = planned.get(path) ?? inTree(path)
  if (!file || typeof file.source !== 'string') return []
  const bytes = statSync(file.source).size
  if (planned.delete(path)) files.splice(files.indexOf(file), 1)
  const tree = trees.find((t) => t.out === rootOut)
  if (tree) tree.exclude = [...(tree.exclude ?? []), OWN_AOSPKG]
  return [{path, bytes, reason: 'own-aospkg'}]
}

/** Where the `@agentos-software/*` npm packages carry their own agentOS archive. */
const OWN_AOSPKG = 'dist/package.aospkg'

/**
 * Drops the project files that are this pack's own outputs, and any earlier output of this tool in
 * the project: with `--out dist/package` inside the project (the README's CI recipe), each pack
 * would otherwise copy the previous package into node_modules/<name>/dist/package, growing without
 * end. Output paths are compared as given and
 * as resolved (the project may be reached through a link).
 */
function leaveOutOwnOutputs(files: OutputFile[], outputs: readonly string[]): void {
  // Earlier outputs elsewhere in the project too: every package directory this tool writes holds
  // its marker.
  const earlier = files.flatMap((file) =>
    typeof file.source === 'string' && basename(file.source) === OUTPUT_MARKER ? [dirname(file.source)] : [],
  )
  const roots = [...outputs, ...earlier].flatMap((path) => {
    const real = realpathOrNull(path)
    return real && real !== path ? [path, real] : [path]
  })
  const isOutput = (source: string) =>
    roots.some((root) => source === root || source.startsWith(`${root}${sep}`))
  for (let i = files.length - 1; i >= 0; i--) {
    const source = files[i]!.source
    if (typeof source === 'string' && isOutput(source)) files.splice(i, 1)
  }
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}

/**
 * A bin entry as the runtime resolves it: inside the package first, then — for wrapper packages
 * whose bin points into their own `node_modules/` — the hoisted copy, walking up like Node does.
 */
function resolveBinEntry(entry: string, rootOut: string, has: (path: string) => boolean): string | undefined {
  const direct = posix.normalize(`${rootOut}/${entry}`)
  if (has(direct)) return direct
  const match = /^(?:\.\/)?node_modules\/(.+)$/.exec(entry)
  if (match) {
    const hoisted = posix.normalize(`node_modules/${match[1]}`)
    if (has(hoisted)) return hoisted
  }
  return undefined
}

async function readSourceManifest(rootDir: string): Promise<Record<string, unknown> | undefined> {
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
 * The agent SDK bundle an agent's npm package ships (`dist/sdk-snapshot.js` of the packed package,
 * and its `.sha256` when present), as files placed at the package root, where the runtime reads it.
 */
function findSnapshotBundle(
  rootOut: string,
  planned: ReadonlyMap<string, OutputFile>,
  inTree: (path: string) => OutputFile | undefined,
): {from: string; files: OutputFile[]} | undefined {
  const lookup = (path: string) => planned.get(path) ?? inTree(path)
  const from = `${rootOut}/${SNAPSHOT_BUNDLE_FILE}`
  const found = lookup(from)
  if (!found) return undefined
  const files: OutputFile[] = [{path: SNAPSHOT_BUNDLE_FILE, source: found.source, executable: false}]
  const sum = lookup(`${from}.sha256`)
  if (sum) files.push({path: `${SNAPSHOT_BUNDLE_FILE}.sha256`, source: sum.source, executable: false})
  return {from, files}
}

/**
 * The manifest to write. Without an agent block in the source, `--agent` writes `snapshot: true`
 * only when the package ships the SDK bundle: the runtime gains from the snapshot only with one,
 * and without one it falls back to per-session imports, which is what `false` asks for anyway.
 */
function buildManifest(
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

function packageJsonFor(name: string, version: string, commands: Array<{name: string; entry: string}>) {
  return {name, version, bin: sortedMap(Object.fromEntries(commands.map((c) => [c.name, c.entry])))}
}

function findNatives(entries: readonly PackageEntry[], closure: Closure): NativeFile[] {
  const owners = [...closure.nodes].sort((a, b) => b.out.length - a.out.length)
  const natives: NativeFile[] = []
  for (const entry of entries) {
    if (entry.kind !== 'file') continue
    const kind = nativeFileKind(entry.path, entry.head ?? Buffer.alloc(0))
    if (!kind) continue
    const owner = owners.find((o) => entry.path.startsWith(`${o.out}/`))
    natives.push({
      package: owner ? `${owner.node.packageName}@${owner.node.version}` : '(package root)',
      path: entry.path,
      kind,
      bytes: entry.size,
    })
  }
  return natives
}

/** Repoints `<dir>/current` at `<version>` atomically (a new link renamed over the old one). */
async function pointCurrent(dir: string, version: string): Promise<string> {
  const current = join(dir, 'current')
  const existing = await lstat(current).catch(() => undefined)
  if (existing && !existing.isSymbolicLink()) {
    throw new AgentosError('ERR_AGENTOS_OUT_CURRENT_NOT_LINK', `${current} exists and is not a symlink`, {
      hint: 'Move it away; pack keeps `current` as a pointer to the newest version.',
      path: current,
    })
  }
  const temp = join(dir, `.current.agentos-tmp-${process.pid}`)
  await rm(temp, {force: true})
  await symlink(version, temp)
  await rename(temp, current)
  return current
}
