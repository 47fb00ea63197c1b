/**
 * Runs `worker` over `items` with at most `limit` calls in flight, keeping result order. Bounded so
 * a 20k-file tree does not open 20k descriptors at once.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await worker(items[index]!, index)
    }
  })
  await Promise.all(lanes)
  return results
}

/**
 * Byte-wise comparison of two strings' UTF-8 encodings, the order used for every sorted output.
 * UTF-8 byte order is code point order, so it is computed on the strings themselves: encoding both
 * for every comparison made sorting a 15,000-file closure cost 80 ms, mostly in garbage.
 */
export function compareBytes(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // UTF-16 units order like code points except a surrogate (half of a code point above U+FFFF)
    // against a unit from U+E000 up, which is the smaller code point. Lone surrogates, which
    // Buffer.from encodes as U+FFFD, cannot come from a file system listing or a JSON document.
    const surrogateX = x >= 0xd800 && x <= 0xdfff
    const surrogateY = y >= 0xd800 && y <= 0xdfff
    if (surrogateX !== surrogateY && (x >= 0xe000 || y >= 0xe000)) return surrogateX ? 1 : -1
    return x < y ? -1 : 1
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0
}
