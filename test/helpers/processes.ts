import {spawn} from 'node:child_process'
import {descendantsOf} from '../../src/run/emulation/process/spawn.js'
import {processStart} from '../../src/util/owner.js'

/** Runs `tasks` with at most `limit` in flight, keeping their order in the results. */
export async function inPool<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]!()
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, tasks.length)}, lane))
  return results
}

/** The pid of a process that has certainly exited (for "left behind by a dead run" states). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  await new Promise((resolve) => child.on('close', resolve))
  return child.pid!
}

/** Every process below `pid`, with its start time (so a reused pid is not mistaken for it). */
export const processTree = descendantsOf

/** The processes of a {@link processTree} that are still the same processes. */
export function stillRunning(tree: Map<number, string | undefined>): number[] {
  return [...tree]
    .filter(([p, started]) => started !== undefined && processStart(p) === started)
    .map(([p]) => p)
}
