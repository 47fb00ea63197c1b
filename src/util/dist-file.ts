import {basename, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'

// This module sits one folder below the compiled tree (dist/util/), and so do the bundles that
// inline it (dist/cli/*.bundle.*): in both, `..` from import.meta.url is dist/.
const base = dirname(dirname(fileURLToPath(import.meta.url)))

/**
 * The directory of the compiled JavaScript: `<package>/dist`. Run from the TypeScript sources
 * (the tests), `src/`'s sibling `dist/`, which `npm run build` fills.
 */
export const DIST_DIR = basename(base) === 'src' ? `${dirname(base)}/dist` : base

/**
 * A file of the compiled tree that is started or loaded by path rather than imported (the copy
 * worker, the WASI runner, the runtime driver), given relative to `dist/`. Existence is the
 * caller's question: a build without it (the single binary) inlines the code instead.
 */
export function distFile(path: string): string {
  return `${DIST_DIR}/${path}`
}
