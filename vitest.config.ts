import {configDefaults, defineConfig} from 'vitest/config'

// .ci/run sets VITEST_JSON_OUT to collect the totals of each run (Node 20 and Node 24).
const jsonOut = process.env.VITEST_JSON_OUT

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests in test/network need the npm registry: only `npm run test:registry` runs them.
    exclude: [
      ...configDefaults.exclude,
      ...(process.env.AGENTOS_NPM_REGISTRY_TESTS === '1' ? [] : ['test/network/**']),
    ],
    // End-to-end tests spawn real processes; two cores are shared by all workers.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of an e2e file's time is spent waiting on its child processes, not on this CPU, so
    // files overlap well beyond the core count (vitest's default is one worker per core less one:
    // a single worker on these 2-core machines). AGENTOS_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.AGENTOS_TEST_WORKERS) || 4,
    // oclif writes through console.log; @oclif/test captures process.stdout, which vitest's
    // console interception would bypass.
    disableConsoleIntercept: true,
    // The last lines of a run say what was skipped and why (test/helpers/requirements.ts).
    reporters: [
      'default',
      './test/helpers/skip-summary.ts',
      ...(jsonOut ? [['json', {outputFile: jsonOut}] as ['json', {outputFile: string}]] : []),
    ],
  },
})
