/** The refusals before any write: whether a package directory may be written at a target. */
import {lstat, readdir, realpath} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'
import {AgentosError} from '../errors.js'
import {OUTPUT_MARKER} from '../format/paths.js'
import {isWithin} from '../util/paths.js'
import {isUnchangedOutput} from './marker.js'
import {restoreInterruptedCommit} from './staging.js'

/** Options of {@link checkTarget}. */
export interface TargetOptions {
  /** Replace a non-empty directory that is not an earlier package output. */
  force?: boolean
  /** Directories the output is built from: the target may neither be nor contain them. */
  sources?: string[]
}

/** What {@link checkTarget} found at the target path. */
export type TargetState = 'absent' | 'empty' | 'package' | 'foreign'

/**
 * Decides whether a package may be written at `target`, before anything is written. Refuses a
 * target that is a file, that is (or contains) a source, that is a filesystem root, or that is a
 * non-empty directory which is not an earlier package output (unless `force`).
 */
export async function checkTarget(target: string, options: TargetOptions = {}): Promise<TargetState> {
  const absolute = resolve(target)
  await restoreInterruptedCommit(absolute)
  const real = await realpath(absolute).catch(() => absolute)
  if (dirname(real) === real) {
    throw new AgentosError('ERR_AGENTOS_OUT_IS_ROOT', `refusing to write a package at ${real}`, {
      hint: 'Pass --out naming a new directory, e.g. ./my-tool-package.',
      path: target,
    })
  }
  for (const source of options.sources ?? []) {
    const realSource = await realpath(resolve(source)).catch(() => resolve(source))
    if (realSource === real || isInside(real, realSource)) {
      throw new AgentosError(
        'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
        `the output ${target} ${realSource === real ? 'is' : 'contains'} the source ${source}`,
        {hint: 'Write the package to a separate directory with --out.', path: target},
      )
    }
  }
  const info = await lstat(real).catch(() => undefined)
  if (!info) return 'absent'
  if (!info.isDirectory()) {
    throw new AgentosError('ERR_AGENTOS_OUT_IS_FILE', `the output ${target} exists and is not a directory`, {
      hint: 'Remove the file or pass another --out.',
      path: target,
    })
  }
  const names = await readdir(real)
  if (names.length === 0) return 'empty'
  if (names.includes(OUTPUT_MARKER) && (await isUnchangedOutput(real))) return 'package'
  if (options.force) return 'foreign'
  throw new AgentosError(
    'ERR_AGENTOS_OUT_NOT_EMPTY',
    `the output ${target} is a non-empty directory that is not an unchanged earlier output of this tool`,
    {
      hint: names.includes(OUTPUT_MARKER)
        ? 'Files were added to or changed in that earlier output; move them out, pass another --out, or --force to replace it.'
        : 'Pass an empty or new directory with --out, or --force to replace it.',
      path: target,
    },
  )
}

function isInside(parent: string, child: string): boolean {
  return child !== parent && isWithin(parent, child)
}
