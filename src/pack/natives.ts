/** Native files in the closure: found by their first bytes, and what pruning them breaks. */
import type {Problem} from '../errors.js'
import {nativeFileKind} from '../format/header.js'
import type {PackageEntry} from '../package/snapshot.js'
import type {Closure, ClosureNode} from './tree.js'
import type {NativeFile} from './types.js'

/** The native files among `entries`, each with the closure package it belongs to. */
export function findNatives(entries: readonly PackageEntry[], closure: Closure): NativeFile[] {
  const owners = [...closure.nodes].sort((a, b) => b.out.length - a.out.length)
  const natives: NativeFile[] = []
  for (const entry of entries) {
    if (entry.kind !== 'file') continue
    const kind = nativeFileKind(entry.path, entry.head ?? Buffer.alloc(0))
    if (!kind) continue
    const owner = owners.find((o) => entry.path.startsWith(`${o.out}/`))
    natives.push({
      package: owner ? `${owner.node.packageName}@${owner.node.version}` : '(package root)',
      path: entry.path,
      kind,
      bytes: entry.size,
    })
  }
  return natives
}

/**
 * Portable stand-ins for well-known packages whose work is done by a platform-specific binary
 * package (an optional dependency with `os`/`cpu`), which `--prune-native` removes.
 */
const PORTABLE_ALTERNATIVES: Record<string, string> = {
  esbuild: 'esbuild-wasm (the same API, in WebAssembly)',
  typescript: 'typescript@5 (the JavaScript compiler; typescript@7 is a native binary)',
  '@typescript/native-preview': 'typescript@5 (the JavaScript compiler)',
  '@biomejs/biome': 'none published: run Biome outside the VM, or use prettier/eslint inside it',
}

/**
 * After `--prune-native`: a pruned file of a platform-specific package (`os` or `cpu` in its
 * package.json, like `@esbuild/linux-x64`) is the binary its parent package runs, so the package
 * is valid but the commands that reach the parent fail at their first call. One warning per such
 * package, naming the commands and, for well-known parents, the portable alternative.
 */
export function platformPruneWarnings(
  pruned: readonly NativeFile[],
  closure: Closure,
  commands: ReadonlyArray<{name: string}>,
): Problem[] {
  const warnings: Problem[] = []
  const owners = [...closure.nodes].sort((a, b) => b.out.length - a.out.length)
  const byOwner = new Map<ClosureNode, string[]>()
  for (const file of pruned) {
    const owner = owners.find((o) => file.path.startsWith(`${o.out}/`))
    if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), file.path])
  }
  for (const [owner, files] of byOwner) {
    const pkg = owner.node.package as {os?: unknown; cpu?: unknown}
    if (pkg.os === undefined && pkg.cpu === undefined) continue
    const name = owner.node.packageName
    const parent = owner.why.length >= 2 ? owner.why[owner.why.length - 2]! : name
    const alternative = PORTABLE_ALTERNATIVES[parent] ?? PORTABLE_ALTERNATIVES[name]
    warnings.push({
      code: 'WARN_AGENTOS_PACK_PLATFORM_BINARY_PRUNED',
      severity: 'warning',
      path: files[0],
      message: `pruned ${name}, the platform binary ${parent} runs (${files.length} file${files.length === 1 ? '' : 's'}): ${commands.map((c) => c.name).join(', ')} will fail where ${parent} is loaded`,
      hint: alternative
        ? `Depend on ${alternative} instead of ${parent}.`
        : `Use a build of ${parent} without native code, or keep the command off the code path that loads it.`,
    })
  }
  return warnings
}
