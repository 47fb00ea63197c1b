// What a test needs from the machine beyond Node.js and npm, and why it is skipped without it.
// A test that lacks one calls `requires(context, need)`, which skips it with the reason as the
// skip note; test/helpers/skip-summary.ts prints those notes, counted, at the end of the run. So a
// fresh machine passes the suite, and its last lines say what it did not run and how to get it.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** A machine capability: present, or absent with the reason and the way to get it. */
export interface Need {
  readonly ok: boolean
  /** Why tests needing it are skipped here; empty when ok. */
  readonly reason: string
}

/** The Debian packages .ci/run installs for the C WebAssembly fixtures. */
export const CLANG_PACKAGES = 'clang lld wasi-libc libclang-rt-dev-wasm32'

/** Computed once per worker, on first use: probes spawn processes. */
function lazy(probe: () => string | null): () => Need {
  let need: Need | undefined
  return () => (need ??= ((reason) => ({ok: reason === null, reason: reason ?? ''}))(probe()))
}

function stderrOf(error: unknown): string {
  const text = String((error as {stderr?: Buffer | string}).stderr ?? '').trim()
  return text.split('\n')[0] || String((error as Error).message ?? error)
}

/** bubblewrap, able to make the mount and pid namespace `run` uses. */
export const bwrap = lazy(() => {
  try {
    execFileSync(
      'bwrap',
      ['--ro-bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', 'true'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    return null
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'bubblewrap not installed (apt-get install bubblewrap)'
      : `bubblewrap cannot make a namespace here (${stderrOf(error)})`
  }
})

/** clang that compiles and links C for wasm32-wasi (compiler, linker, libc and builtins). */
export const clangWasi = lazy(() => {
  const dir = mkdtempSync(join(tmpdir(), 'agentos-clang-probe-'))
  try {
    writeFileSync(join(dir, 'probe.c'), 'int main(void) { return 0; }\n')
    const result = spawnSync(
      'clang',
      ['--target=wasm32-wasi', '-o', join(dir, 'probe.wasm'), join(dir, 'probe.c')],
      {encoding: 'utf8'},
    )
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return `clang not installed (apt-get install ${CLANG_PACKAGES})`
    }
    if (result.status !== 0) {
      const first = (result.stderr || String(result.error)).trim().split('\n')[0]
      return `clang cannot build for wasm32-wasi (${first}; apt-get install ${CLANG_PACKAGES})`
    }
    return null
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

/** The e2e suite is driving the single binary (AGENTOS_TOOLCHAIN_EXE), not bin/run.js. */
export const singleBinary = lazy(() =>
  process.env.AGENTOS_TOOLCHAIN_EXE
    ? null
    : 'the single binary is not under test (npm run build:binary, then AGENTOS_TOOLCHAIN_EXE=dist-bin/agentos-toolchain-linux-x64 npx vitest run test/e2e; .ci/run does)',
)

/** The e2e suite is driving bin/run.js, not the single binary. */
export const binRunJs = lazy(() =>
  process.env.AGENTOS_TOOLCHAIN_EXE ? 'covers bin/run.js, and the single binary is under test' : null,
)

/** The minimal test context `requires` needs (vitest's TestContext has it). */
export interface Skippable {
  skip(note?: string): void
}

/** Skips the current test, with the need's reason as its note, unless the machine has it. */
export function requires(context: Skippable, ...needs: Array<() => Need>): void {
  for (const need of needs) {
    const {ok, reason} = need()
    if (!ok) context.skip(reason)
  }
}

/** `run`'s two ways of showing a script guest the VM; bwrap needs bubblewrap. */
export const ISOLATIONS = ['bwrap', 'path-mapped'] as const
export type Isolation = (typeof ISOLATIONS)[number]

/** For `it.for(ISOLATIONS)`: skips the bwrap case where bubblewrap cannot run. */
export function requiresIsolation(context: Skippable, isolation: Isolation): void {
  if (isolation === 'bwrap') requires(context, bwrap)
}

/**
 * An agentOS runtime that `run --engine agentos` resolves from the repository (the
 * AGENTOS_TOOLCHAIN_RUNTIME variable, this project's node_modules, or the cache), asked of the
 * built CLI itself so the tests and the CLI agree on what "installed" means.
 */
export const agentosRuntime = lazy(() => {
  const reason =
    'agentOS runtime not installed (agentos-toolchain runtime install, or AGENTOS_TOOLCHAIN_RUNTIME=<dir>)'
  try {
    const out = execFileSync(
      process.execPath,
      [join(import.meta.dirname, '../../bin/run.js'), 'runtime', 'list', '--json'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    return (JSON.parse(out) as {selected?: unknown}).selected ? null : reason
  } catch {
    return reason
  }
})
