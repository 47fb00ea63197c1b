import {cp, mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {REPO_ROOT, WAT_DIR} from './fixtures.js'
import {watFileToWasm} from './wasm.js'

// The Node.js quick start's my-tool/ project and its one dependency, as installed in the example.
const INSTALLED = join(REPO_ROOT, 'fixtures/examples/my-tool-package/node_modules')

/**
 * A local project whose node_modules is installed (so `pack` needs no registry): `<parent>/<name>`
 * holding my-tool's package.json and cli.js, with `ms` in node_modules.
 */
export async function makeProject(parent: string, name = 'my-tool'): Promise<string> {
  const dir = join(parent, name)
  await cp(join(INSTALLED, 'my-tool'), dir, {recursive: true})
  await mkdir(join(dir, 'node_modules'), {recursive: true})
  await cp(join(INSTALLED, 'ms'), join(dir, 'node_modules/ms'), {recursive: true})
  return dir
}

/** Rewrites the project's package.json through `edit`. */
export async function editPackageJson(
  dir: string,
  edit: (pkg: Record<string, unknown>) => void,
): Promise<void> {
  const file = join(dir, 'package.json')
  const pkg = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  edit(pkg)
  await writeFile(file, JSON.stringify(pkg, null, 2))
}

const wasmCache = new Map<string, Uint8Array>()

/** A WAT fixture (fixtures/wat/<name>.wat) assembled to a core module, cached per worker. */
export async function watModule(name: 'hello' | 'exit-code' | 'reactor'): Promise<Uint8Array> {
  let bytes = wasmCache.get(name)
  if (!bytes) {
    bytes = await watFileToWasm(join(WAT_DIR, `${name}.wat`))
    wasmCache.set(name, bytes)
  }
  return bytes
}
