/**
 * Extraction of an `.aospkg` into a directory, for callers that need the package as real files
 * (a local `run` that mounts it read-only, keyed by the archive's sha256). Only the index and the
 * file ranges it names are read; tar headers are never trusted.
 */
import {mkdir, open, readdir, symlink, writeFile} from 'node:fs/promises'
import {join, posix, resolve} from 'node:path'
import {AgentosError} from '../errors.js'
import {MANIFEST_FILE} from '../format/paths.js'
import {symlinkResolvesInside} from '../format/paths.js'
import {linkOnDisk} from '../util/paths.js'
import type {AospkgManifest} from './container.js'
import {renderManifestText} from './manifest.js'
import {openAospkgFile} from './reader.js'

/** Result of {@link extractAospkg}. */
export interface ExtractedAospkg {
  /** Absolute directory written. */
  dir: string
  formatVersion: number
  manifest: AospkgManifest
  files: number
  bytes: number
}

const COPY_BUFFER = 1024 * 1024

/**
 * Extracts every entry of an archive into `dir` (created; it must not exist or be empty) and writes
 * chunk 1 as `agentos-package.json`, so the directory reads back as the same package with the same
 * tree digest. Files get their permission bits (without setuid/setgid/sticky), symlinks are made
 * last so no write ever goes through one, and a symlink leaving the package is refused.
 *
 * Not atomic: extract into a fresh temp directory and rename it into place.
 *
 * @throws AgentosError for any container defect, a conflicting or unsafe entry, or a non-empty `dir`.
 */
export async function extractAospkg(file: string, dir: string): Promise<ExtractedAospkg> {
  const archive = await openAospkgFile(file)
  try {
    // Chunk 1 is the manifest that counts; a stray copy in the tar is replaced, as when reading.
    const index = (await archive.index()).filter((entry) => entry.path !== `/${MANIFEST_FILE}`)
    const kinds = new Map(index.map((entry) => [entry.path, entry.kind]))
    for (const entry of index) {
      for (let parent = posix.dirname(entry.path); parent !== '/'; parent = posix.dirname(parent)) {
        const kind = kinds.get(parent)
        if (kind !== undefined && kind !== 'dir') {
          throw new AgentosError(
            'ERR_AGENTOS_AOSPKG_EXTRACT_CONFLICT',
            `${entry.path} lies under ${parent}, which is a ${kind}, not a directory`,
            {hint: 'The archive is inconsistent; rebuild it.', path: file},
          )
        }
      }
    }
    const links = new Map(
      index.flatMap((e) => (e.kind === 'symlink' ? [[e.path.slice(1), e.linkTarget ?? '']] : [])),
    )
    refuseLinksOut(file, links, (p) => links.get(p))

    // Directories 0755 whatever the umask (mkdir's mode is masked, never widened by it).
    await mkdir(dir, {recursive: true, mode: 0o755})
    if ((await readdir(dir)).length > 0) {
      throw new AgentosError('ERR_AGENTOS_AOSPKG_EXTRACT_TARGET', `${dir} is not empty`, {
        hint: 'Extract into a new or empty directory.',
        path: dir,
      })
    }
    const local = (path: string) => join(dir, ...path.slice(1).split('/'))
    // Byte-wise order puts every directory before what it holds.
    for (const entry of index) {
      if (entry.kind === 'dir' && entry.path !== '/')
        await mkdir(local(entry.path), {recursive: true, mode: 0o755})
    }
    const buffer = Buffer.allocUnsafe(COPY_BUFFER)
    let files = 0
    let bytes = 0
    for (const entry of index) {
      if (entry.kind !== 'file') continue
      await mkdir(posix.dirname(local(entry.path)), {recursive: true, mode: 0o755})
      // The package format's two modes: an archive's group/other write bits (0666, 0777) would
      // let any local user change what a later run mounts.
      const mode = entry.mode & 0o111 ? 0o755 : 0o644
      const out = await open(local(entry.path), 'wx', mode)
      try {
        await archive.stream(entry, buffer, async (chunk) => {
          for (let done = 0; done < chunk.length;) done += (await out.write(chunk, done)).bytesWritten
        })
        // open() applies the umask; the normalized mode is what the package means.
        await out.chmod(mode)
      } finally {
        await out.close()
      }
      files++
      bytes += entry.size
    }
    for (const entry of index) {
      if (entry.kind !== 'symlink') continue
      await mkdir(posix.dirname(local(entry.path)), {recursive: true, mode: 0o755})
      await symlink(entry.linkTarget!, local(entry.path))
    }
    // Checked again as resolved on disk, where the kernel will follow them.
    refuseLinksOut(file, links, (p) => linkOnDisk(local(`/${p}`)))
    await writeFile(join(dir, MANIFEST_FILE), renderManifestText(archive.manifest), {mode: 0o644, flag: 'wx'})
    return {
      dir: resolve(dir),
      formatVersion: archive.header.formatVersion,
      manifest: archive.manifest,
      files,
      bytes,
    }
  } finally {
    await archive.close()
  }
}

/** Refuses the first link that leaves the package as resolved through `targetOf`. */
function refuseLinksOut(
  file: string,
  links: Map<string, string>,
  targetOf: (p: string) => string | undefined,
): void {
  for (const [path, target] of links) {
    if (!symlinkResolvesInside(path, targetOf)) throw linkOutside(file, path, target)
  }
}

function linkOutside(file: string, path: string, target: string): AgentosError {
  return new AgentosError(
    'ERR_AGENTOS_AOSPKG_SYMLINK_OUTSIDE',
    `symlink /${path} → ${target} points outside the package (as resolved through the archive's links)`,
    {hint: 'Extraction refuses links out of the package; rebuild the archive without them.', path: file},
  )
}
