import {spawn} from 'node:child_process'

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
