/** The text of the JSON files a package is written with. */
import {compareBytes} from '../format/byte-order.js'

/**
 * JSON as the package files are written: two-space indent, trailing newline, and the keys of the
 * given maps (bin, env) sorted so that equal inputs give equal bytes.
 */
export function packageJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** Returns a copy of a string map with its keys in byte order. */
export function sortedMap<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => compareBytes(a, b)))
}
