import type {OutputFormat} from '../../output/write-aospkg.js'
import {pack} from '../../pack/pack.js'
import {PACK_STEPS, type PackOptions, type PackResult} from '../../pack/types.js'
import {stepProgress} from '../progress.js'

/** Everything `pack` was asked to do, after flag parsing (by oclif or the fast path). */
export type PackInput = Omit<PackOptions, 'reporter' | 'cwd'> & {format?: OutputFormat; json: boolean}

/**
 * Runs `pack` with its step progress on stderr: a task list on a terminal, plain lines in CI or
 * when piped, nothing under `--json`. Shared by the oclif command and the fast path, so both show
 * and return exactly the same.
 */
export async function dispatchPack({json, ...options}: PackInput): Promise<PackResult> {
  const mode = json ? 'silent' : process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain'
  const progress = await stepProgress(PACK_STEPS, mode)
  let result: PackResult
  try {
    result = await pack({...options, reporter: progress.reporter})
  } catch (error) {
    await progress.finish(error)
    throw error
  }
  await progress.finish()
  return result
}
