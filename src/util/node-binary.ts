import {delimiter, isAbsolute, resolve} from 'node:path'

// Not `import … from 'node:fs'`: `run` loads this module, see the note in run/emulation/run.ts.
const {accessSync, constants, realpathSync, statSync} = process.getBuiltinModule('node:fs')

/**
 * True when this process is a Node single executable application — the prebuilt
 * agentos-toolchain binary — rather than Node running bin/run.js.
 */
export function isSea(): boolean {
  // node:sea exists from Node 20.12; getBuiltinModule (20.16+) returns undefined instead of
  // throwing where a builtin is missing, so older or unusual runtimes simply are not a SEA.
  const sea = process.getBuiltinModule?.('node:sea') as {isSea?: () => boolean} | undefined
  return sea?.isSea?.() ?? false
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return false
  }
}

/** The first executable `name` on PATH that is not this process's own executable. */
function searchPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = resolve(dir, name)
    if (isExecutableFile(candidate) && !sameFile(candidate, process.execPath)) return candidate
  }
  return undefined
}

/**
 * The Node.js executable to run Node programs with (for `run`'s Node commands).
 *
 * - `explicit` (a `--node` flag): a path (absolute, or relative to the working directory) when it
 *   contains a slash, else a name looked up on PATH; undefined when that is not an executable file.
 * - Otherwise, outside the single binary, the Node running this CLI (`process.execPath`).
 * - Inside the single binary `process.execPath` is the binary itself, which would run the CLI
 *   again rather than the program, so: the first `node` on PATH, or undefined when there is none
 *   (the caller should say so and suggest `--node <path>`).
 */
export function findNodeExecutable(explicit?: string): string | undefined {
  if (explicit !== undefined) {
    if (explicit.includes('/') || isAbsolute(explicit)) {
      const file = resolve(explicit)
      return isExecutableFile(file) ? file : undefined
    }
    return searchPath(explicit)
  }
  if (!isSea()) return process.execPath
  return searchPath('node')
}
