/**
 * The versioned layout's store, `<out>/<name>/<version>`: one npm package per store directory,
 * and its `current` pointer at the newest version packed.
 */
import {lstat, readdir, readFile, rename, symlink} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {AgentosError} from '../errors.js'
import {parseJsonLenient} from '../format/json.js'
import {tempFileSibling} from '../output/siblings.js'

/**
 * In the versioned store, `<out>/<name>/` holds the versions of one npm package: `@a/biome` and
 * `@b/biome` both have the agentOS name `biome`, and the second must not be filed (and `current`
 * repointed) among the first one's versions.
 */
export async function checkStoreOwner(storeDir: string, npmName: string): Promise<void> {
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

/** Repoints `<dir>/current` at `<version>` atomically (a new link renamed over the old one). */
export async function pointCurrent(dir: string, version: string): Promise<string> {
  const current = join(dir, 'current')
  const existing = await lstat(current).catch(() => undefined)
  if (existing && !existing.isSymbolicLink()) {
    throw new AgentosError('ERR_AGENTOS_OUT_CURRENT_NOT_LINK', `${current} exists and is not a symlink`, {
      hint: 'Move it away; pack keeps `current` as a pointer to the newest version.',
      path: current,
    })
  }
  const temp = await tempFileSibling(current)
  await symlink(version, temp)
  await rename(temp, current)
  return current
}
