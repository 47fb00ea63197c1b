/**
 * `assemble-wasm --include`: extra project files copied into the package, matched by globs
 * relative to the project root and kept inside it.
 */
import {lstat, realpath, stat} from 'node:fs/promises'
import {isAbsolute, join, relative, sep} from 'node:path'
import fg from 'fast-glob'
import {AgentosError, EXIT_USAGE} from '../errors.js'
import {compareBytes} from '../format/byte-order.js'
import type {OutputFile} from '../output/files.js'

/** Files matched by the `include` globs, relative to the project root, as package files. */
export async function collectIncludes(
  patterns: readonly string[],
  root: string,
  out: string,
  generated: ReadonlySet<string>,
): Promise<OutputFile[]> {
  const ignore = ['.git/**']
  const outRel = relative(root, out)
  if (outRel !== '' && !outRel.startsWith('..') && !isAbsolute(outRel)) {
    ignore.push(`${fg.escapePath(outRel.split(sep).join('/'))}/**`)
  }
  const paths = new Set<string>()
  for (const pattern of patterns) {
    for (const match of await matchInclude(pattern, root, ignore)) paths.add(match)
  }
  const files: OutputFile[] = []
  const realRoot = await realpath(root)
  for (const path of [...paths].sort(compareBytes)) {
    files.push(await includedFile(path, root, realRoot, generated))
  }
  return files
}

/** The project paths one `--include` glob matches; none is an error. */
async function matchInclude(pattern: string, root: string, ignore: string[]): Promise<string[]> {
  if (isAbsolute(pattern) || pattern.split(/[/\\]/).includes('..')) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE',
      `--include ${pattern} reaches outside the project`,
      {
        hint: `Include globs are relative to the project directory (${root}) and stay inside it.`,
        path: pattern,
        exitCode: EXIT_USAGE,
      },
    )
  }
  const matches = await fg(pattern, {
    cwd: root,
    onlyFiles: true,
    followSymbolicLinks: true,
    unique: true,
    ignore,
  }).catch(async (error: NodeJS.ErrnoException) => {
    // Following a cycle ends in ELOOP; whether the walker meets it on a stat (which it skips as
    // a broken link) or on a readdir (which it throws) depends on timing: the same coded error
    // either way.
    if (error.code !== 'ELOOP' || !error.path) throw error
    const cycle = await symlinkCycle(root, relative(root, error.path)).catch(() => undefined)
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_LOOP',
      `--include ${pattern} goes through the symlink cycle ${cycle ?? relative(root, error.path)}`,
      {
        hint: 'Remove the link that points back at its own parent, or narrow the --include pattern.',
        path: pattern,
        cause: error,
      },
    )
  })
  if (matches.length === 0) {
    throw new AgentosError('ERR_AGENTOS_ASSEMBLE_INCLUDE_NO_MATCH', `--include ${pattern} matches no file`, {
      hint: `Include globs are relative to the project directory (${root}); check the pattern.`,
      path: pattern,
    })
  }
  return matches
}

/** One matched path as a package file, unless assemble-wasm writes it or it leaves the project. */
async function includedFile(
  path: string,
  root: string,
  realRoot: string,
  generated: ReadonlySet<string>,
): Promise<OutputFile> {
  if (generated.has(path)) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INCLUDE_CONFLICT',
      `--include would copy ${path}, which assemble-wasm writes itself`,
      {
        hint: 'Narrow the --include pattern; package.json, agentos-package.json and bin/<command> are generated.',
        path,
      },
    )
  }
  // The globs follow symlinks: a link in the project must not pull host files into the package.
  const real = await realpath(join(root, path))
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_OUTSIDE',
      `--include would copy ${path}, which links outside the project (→ ${real})`,
      {
        hint: 'Replace the link with the file itself, or narrow the --include pattern to leave it out.',
        path,
      },
    )
  }
  const cycle = await symlinkCycle(root, path)
  if (cycle) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_LOOP',
      `--include would copy ${path}, which goes through the symlink cycle ${cycle}`,
      {hint: 'Remove the link that points back at its own parent, or narrow the --include pattern.', path},
    )
  }
  const info = await stat(join(root, path))
  return {path, source: join(root, path), executable: (info.mode & 0o111) !== 0}
}

/**
 * The first directory link on `path` (relative to `root`) that points at its own directory or an
 * ancestor: the globs follow it round and round until the kernel's ELOOP, copying the same files
 * under ever deeper paths.
 */
async function symlinkCycle(root: string, path: string): Promise<string | undefined> {
  const parts = path.split('/')
  for (let i = 1; i < parts.length; i++) {
    const link = parts.slice(0, i).join('/')
    if (!(await lstat(join(root, link))).isSymbolicLink()) continue
    const target = await realpath(join(root, link))
    const parent = await realpath(join(root, ...parts.slice(0, i - 1)))
    if (parent === target || parent.startsWith(target + sep)) return link
  }
  return undefined
}
