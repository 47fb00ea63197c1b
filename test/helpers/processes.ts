import {spawn} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
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
export async function processTree(pid: number): Promise<Map<number, string | undefined>> {
  const found = new Map<number, string | undefined>()
  const visit = async (parent: number) => {
    for (const task of await readdir(`/proc/${parent}/task`).catch(() => [] as string[])) {
      const text = await readFile(`/proc/${parent}/task/${task}/children`, 'utf8').catch(() => '')
      for (const child of text.split(/\s+/).filter(Boolean).map(Number)) {
        if (found.has(child)) continue
        found.set(child, processStart(child))
        await visit(child)
      }
    }
  }
  await visit(pid)
  return found
}

/** The processes of a {@link processTree} that are still the same processes. */
export function stillRunning(tree: Map<number, string | undefined>): number[] {
  return [...tree]
    .filter(([p, started]) => started !== undefined && processStart(p) === started)
    .map(([p]) => p)
}
