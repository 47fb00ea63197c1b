/** File-system helpers of `assemble-wasm`: how paths are shown, and stats that never throw. */
import {stat} from 'node:fs/promises'
import {isAbsolute, relative} from 'node:path'

/** A path as the user should see it: relative to the cwd when inside it, else absolute. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path)
  if (rel === '') return '.'
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

/** `stat`, or undefined when there is nothing (readable) at `path`. */
export async function statOrUndefined(path: string) {
  return stat(path).catch(() => undefined)
}

/** Whether `path` is (or links to) a regular file. */
export async function isFile(path: string): Promise<boolean> {
  return (await statOrUndefined(path))?.isFile() ?? false
}
