/**
 * `pack`: resolve the closure, plan the package, write it into a staging directory, check it, and
 * commit it into place. Each step lives in a file of its own; this one runs them in order and owns
 * what outlives a step (the copy threads, the staging directory, the scratch installs).
 */
import {rm} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {AgentosError} from '../errors.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {canCopyInWorkers, type CopyPool, startCopyPool} from '../output/copy-pool.js'
import {outputError} from '../output/errors.js'
import {writePackageFiles, type WrittenPackage} from '../output/files.js'
import {packageJsonText} from '../output/json-text.js'
import {writeOutputMarker} from '../output/marker.js'
import {commitStaging, createStaging, discardStaging, type Staging} from '../output/staging.js'
import {writeAospkg} from '../output/write-aospkg.js'
import type {PackageEntry} from '../package/snapshot.js'
import {checkPacked} from './check.js'
import {checkDestination, type Destination, ownOutputs} from './destination.js'
import {withoutScratchPath} from './install-errors.js'
import {packageJsonFor} from './manifest.js'
import {leaveOutOwnOutputs, planPackage} from './plan.js'
import {packResult, type Placed} from './result.js'
import {resolveClosure} from './resolve.js'
import type {PackOptions, PackReporter, PackResult, Plan} from './types.js'
import {pointCurrent} from './versioned-store.js'

/** What a run holds until its end: disposed of (the pool) or removed (staging) in `finally`. */
interface Held {
  pool?: CopyPool
  staging?: Staging
}

/** The staged package, and its files (for the counts of the result). */
type Copied = WrittenPackage & {fileEntries: PackageEntry[]}

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
  const held: Held = {}
  try {
    const {source, resolved} = await resolveClosure(options, cwd, report, scratch)
    const {root, rootDir, closure} = resolved
    // A closure this big has hundreds of files: its copy threads start now, while the files are
    // listed and checked, instead of after.
    if (closure.nodes.length >= POOL_MIN_PACKAGES && canCopyInWorkers()) held.pool = startCopyPool()
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
    const names = {npmName, version}
    const plan = await planPackage(resolved, source, names, options, report, held.pool !== undefined)
    const destination = await checkDestination(options, cwd, source, plan.manifest.name as string, names)
    leaveOutOwnOutputs(plan.files, ownOutputs(destination))
    const commandPaths = new Set(plan.commands.map((c) => c.entry))
    const copied = await copyPackage(plan, destination.target, names, commandPaths, options, report, held)
    const {pruned, validation} = await checkPacked(copied, plan, closure, commandPaths, report)
    const placed = await writeInPlace(copied, plan, destination, version, report, held)
    return packResult({
      source,
      installed: scratch.length > 0,
      resolved,
      names,
      plan,
      destination,
      snapshot: copied.snapshot,
      fileEntries: copied.fileEntries,
      pruned,
      validation,
      placed,
    })
  } catch (error) {
    throw withoutScratchPath(error, scratch, options.source)
  } finally {
    held.pool?.dispose()
    if (held.staging) await discardStaging(held.staging)
    for (const dir of scratch) await rm(dir, {recursive: true, force: true})
  }
}

/** Closure size from which pack starts its copy threads before planning (see startCopyPool). */
const POOL_MIN_PACKAGES = 20

/**
 * The copy step: the planned files, `package.json` and the manifest written into a new staging
 * directory (held for the caller to commit or discard), native files pruned as they stream by.
 */
async function copyPackage(
  plan: Plan,
  target: string,
  names: {npmName: string; version: string},
  commandPaths: ReadonlySet<string>,
  options: PackOptions,
  report: PackReporter,
  held: Held,
): Promise<Copied> {
  const {files, trees, commands, manifest} = plan
  const {npmName, version} = names
  const {pool} = held
  report.start?.('copy')
  files.push(
    {
      path: 'package.json',
      source: Buffer.from(packageJsonText(packageJsonFor(npmName, version, commands))),
      executable: false,
    },
    {path: MANIFEST_FILE, source: Buffer.from(packageJsonText(manifest)), executable: false},
  )
  const staging = await createStaging(target)
  held.staging = staging
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
  return {snapshot, skipped, fileEntries}
}

/**
 * The write step: the archive written from the staged tree, the directory committed into place
 * (and the versioned store's `current` repointed), and the `--tar` tarball.
 */
async function writeInPlace(
  {snapshot}: WrittenPackage,
  {manifest}: Plan,
  {layout, outRoot, target, format, archive, tar: tarPath}: Destination,
  version: string,
  report: PackReporter,
  held: Held,
): Promise<Placed> {
  const staging = held.staging!
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
    held.staging = undefined
    // `current` points at version directories; an archive alone leaves it as it was.
    if (layout === 'versioned') current = await pointCurrent(join(outRoot, manifest.name as string), version)
  }
  let tar: PackResult['tar']
  if (tarPath) {
    const {writePackageTarball} = await import('../output/write-tgz.js')
    tar = await writePackageTarball(contentDir, tarPath)
  }
  const out = format === 'aospkg' ? archive! : target
  report.done?.('write', format === 'both' ? `${target} and ${archive}` : out)
  return {written, current, tar, out}
}
