import fc from 'fast-check'

/** The seed every randomized test uses unless FC_SEED says otherwise, so runs are reproducible. */
export const DEFAULT_SEED = 0x5eed_2026

/** The seed of this run: FC_SEED (decimal or 0x-hex) when set, else {@link DEFAULT_SEED}. */
export function testSeed(): number {
  const raw = process.env.FC_SEED
  if (raw === undefined || raw === '') return DEFAULT_SEED
  const seed = Number(raw)
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`)
  return seed
}

/**
 * Fixes fast-check's seed and run count for this file and prints the seed, so a failure seen in CI
 * can be replayed exactly with FC_SEED=<seed>.
 */
export function configureFastCheck(numRuns: number, file: string): number {
  const seed = testSeed()
  fc.configureGlobal({seed, numRuns})
  console.log(`[fast-check] ${file}: seed ${seed}, ${numRuns} runs per property (replay: FC_SEED=${seed})`)
  return seed
}

/** A small seeded PRNG (mulberry32) for test decisions outside fast-check, e.g. kill delays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
