/**
 * Input builders for the bad-input corpus: each writes one hostile input into a case directory
 * and returns its path. They never write outside the directory they are given.
 */
import {spawnSync} from 'node:child_process'
import {chmod, mkdir, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {makeProject, editPackageJson, watModule} from '../helpers/project.js'
import {craftTar, tarHeader, type TarMember, validPackageMembers} from '../helpers/tar-craft.js'

export {craftTar, editPackageJson, makeProject, tarHeader, validPackageMembers, watModule}
export type {TarMember}

type Json = string | Buffer | Record<string, unknown> | unknown[]

const text = (value: Json): string | Buffer =>
  typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value, null, 2)

/** Writes `content` at `dir/rel`, creating parents, with an optional mode. */
export async function put(dir: string, rel: string, content: string | Uint8Array, mode?: number) {
  const file = join(dir, rel)
  await mkdir(dirname(file), {recursive: true})
  await writeFile(file, content)
  if (mode !== undefined) await chmod(file, mode)
  return file
}

/** Options of {@link packageDir}: replacements for the two descriptors and extra files. */
export interface PackageInput {
  packageJson?: Json
  manifest?: Json
  /** Extra files by relative path (text or bytes); `bin/t` replaces the command. */
  files?: Record<string, string | Uint8Array>
}

/**
 * A small valid package (`t@1.0.0`, one script command `t`) at `dir/pkg`, with the given parts
 * replaced: one defect per case, so the expected code is the defect's.
 */
export async function packageDir(dir: string, input: PackageInput = {}): Promise<string> {
  const root = join(dir, 'pkg')
  await put(root, 'package.json', text(input.packageJson ?? {name: 't', version: '1.0.0', bin: {t: 'bin/t'}}))
  await put(root, 'agentos-package.json', text(input.manifest ?? {name: 't', version: '1.0.0'}))
  await put(root, 'bin/t', '#!/usr/bin/env node\nconsole.log("t")\n', 0o755)
  for (const [rel, content] of Object.entries(input.files ?? {})) {
    await put(root, rel, content, rel.startsWith('bin/') ? 0o755 : undefined)
  }
  return root
}

/** JSON text nesting `depth` arrays inside `{"name": "t", "deep": …}`. */
export function nestedArrays(depth: number, name = 't'): string {
  return `{"name":"${name}","version":"1.0.0","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`
}

/** A package.json nesting `depth` objects under an unknown key (bin intact). */
export function nestedPackageJson(depth: number): string {
  return `{"name":"t","version":"1.0.0","bin":{"t":"bin/t"},"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`
}

/** A package.json padded with one string to about `bytes` bytes. */
export function hugePackageJson(bytes: number): string {
  return `{"name":"t","version":"1.0.0","bin":{"t":"bin/t"},"pad":"${'x'.repeat(bytes)}"}`
}

/** An installed local project (`my-tool` + `ms`) at `dir/my-tool`, for pack. */
export async function project(dir: string, edit?: (pkg: Record<string, unknown>) => void): Promise<string> {
  const root = await makeProject(dir)
  if (edit) await editPackageJson(root, edit)
  return root
}

/** A project whose agentos-package.json is `manifest`. */
export async function projectWithManifest(dir: string, manifest: Json): Promise<string> {
  const root = await project(dir)
  await put(root, 'agentos-package.json', text(manifest))
  return root
}

/** The kinds of WebAssembly input {@link wasmFile} writes. */
export type WasmKind = 'hello' | 'reactor' | 'component' | 'zero' | 'truncated' | 'text' | 'bad-version'

/** A `.wasm` input at `dir/<name>.wasm`. */
export async function wasmFile(dir: string, kind: WasmKind, name = kind): Promise<string> {
  const hello = await watModule('hello')
  const bytes: Record<WasmKind, Uint8Array | string> = {
    hello,
    reactor: await watModule('reactor'),
    // The component-model preamble: magic, version 0x0d, layer 1.
    component: Buffer.from('0061736d0d000100', 'hex'),
    zero: Buffer.alloc(0),
    // Cut inside the first section: magic and version intact, the body not.
    truncated: hello.subarray(0, 20),
    text: 'this is not webassembly\n',
    'bad-version': Buffer.from('0061736d02000000', 'hex'),
  }
  return put(dir, `${name}.wasm`, bytes[kind])
}

/** A WASM project for assemble-wasm: `dir/proj` with package.json (x@1.0.0) and hello.wasm. */
export async function wasmProject(
  dir: string,
  parts: {packageJson?: Json; manifest?: Json; cargo?: string} = {},
): Promise<string> {
  const root = join(dir, 'proj')
  if (parts.packageJson !== undefined || parts.cargo === undefined) {
    await put(root, 'package.json', text(parts.packageJson ?? {name: 'x', version: '1.0.0'}))
  }
  if (parts.manifest !== undefined) await put(root, 'agentos-package.json', text(parts.manifest))
  if (parts.cargo !== undefined) await put(root, 'Cargo.toml', parts.cargo)
  await put(root, 'hello.wasm', await watModule('hello'))
  return root
}

/** A tarball of `members` at `dir/<name>` (gzipped unless the name ends in .tar). */
export async function tarball(dir: string, name: string, members: TarMember[]): Promise<string> {
  return put(dir, name, craftTar(members, {gzip: !name.endsWith('.tar')}))
}

/** Makes a special file with mknod/mkfifo; returns why it could not, or null. */
export function mknod(path: string, type: 'p' | 'c' | 'b', major = 1, minor = 3): string | null {
  const args = type === 'p' ? [path, 'p'] : [path, type, String(major), String(minor)]
  const result = spawnSync('mknod', args, {encoding: 'utf8'})
  if (result.error) return result.error.message
  return result.status === 0 ? null : result.stderr.trim() || `mknod exit ${result.status}`
}

/**
 * A Unix socket file at `path`, or why it cannot be made. Bound by a child that is then killed:
 * closing a server removes its socket file, a SIGKILL does not.
 */
export function unixSocket(path: string): string | null {
  const script =
    "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))"
  const result = spawnSync(process.execPath, ['-e', script, path], {encoding: 'utf8'})
  if (result.error) return result.error.message
  return result.signal === 'SIGKILL' ? null : result.stderr.trim() || `exit ${result.status}`
}

/** A symlink at `dir/rel` → `target`. */
export async function link(dir: string, rel: string, target: string): Promise<string> {
  const path = join(dir, rel)
  await mkdir(dirname(path), {recursive: true})
  await symlink(target, path)
  return path
}
