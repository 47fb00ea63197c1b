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
