/** Where `pack` writes: the layout, the package directory, the archive, and their refusals. */
import {join, resolve} from 'node:path'
import {AgentosError} from '../errors.js'
import {unscopedName} from '../format/bin-map.js'
import {checkTarget} from '../output/target.js'
import {archivePathFor, checkArchiveTarget, type OutputFormat} from '../output/write-aospkg.js'
import type {PackSource} from './source.js'
import type {PackOptions} from './types.js'
import {checkStoreOwner} from './versioned-store.js'

/** Where the package goes. */
export interface Destination {
  layout: 'flat' | 'versioned'
  /** `--out` resolved: the package directory (flat layout) or the store root (versioned). */
  outRoot: string
  /** The package directory. */
  target: string
  format: OutputFormat
  /** The archive, with format `aospkg` or `both`. */
  archive: string | undefined
  /** `--tar` resolved, when given. */
  tar: string | undefined
}

/**
 * Decides where the package goes and refuses, before anything is written, a target, archive or
 * `--tar` path that may not be written (or a store directory of another npm package).
 */
export async function checkDestination(
  options: PackOptions,
  cwd: string,
  source: PackSource,
  manifestName: string,
  names: {npmName: string; version: string},
): Promise<Destination> {
  const {npmName, version} = names
  const layout = options.layout ?? (source.kind === 'registry' ? 'versioned' : 'flat')
  const outRoot = resolve(
    cwd,
    options.out ?? (layout === 'versioned' ? 'packages' : `${unscopedName(npmName)}-package`),
  )
  const target = layout === 'versioned' ? join(outRoot, manifestName, version) : outRoot
  const sources = source.kind === 'directory' ? [source.path] : []
  const format = options.format ?? 'dir'
  const archive = format === 'dir' ? undefined : archivePathFor(target, format)
  if (layout === 'versioned') await checkStoreOwner(join(outRoot, manifestName), npmName)
  if (format !== 'aospkg') await checkTarget(target, {force: options.force, sources})
  if (archive) await checkArchiveTarget(archive, {force: options.force})
  const tar = options.tar ? resolve(cwd, options.tar) : undefined
  if (options.tar && tar) {
    // resolve() drops a trailing slash: `--tar dist/` became a file named dist.
    if (/[\\/]$/.test(options.tar)) {
      throw new AgentosError(
        'ERR_AGENTOS_TAR_OUT_IS_DIR',
        `the --tar path ${options.tar} names a directory`,
        {
          hint: `Name a file, such as ${options.tar}${unscopedName(npmName)}.tgz.`,
          path: tar,
        },
      )
    }
    const {checkTarballTarget} = await import('../output/write-tgz.js')
    const outputs = [...(format === 'aospkg' ? [] : [target]), ...(archive ? [archive] : [])]
    await checkTarballTarget(tar, {force: options.force, sources, outputs})
  }
  return {layout, outRoot, target, format, archive, tar}
}

/** The paths this pack writes: the package must not contain them (see leaveOutOwnOutputs). */
export function ownOutputs({layout, outRoot, target, archive, tar}: Destination): string[] {
  return [layout === 'versioned' ? outRoot : target, ...(archive ? [archive] : []), ...(tar ? [tar] : [])]
}
