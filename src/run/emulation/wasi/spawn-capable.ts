/**
 * Whether a WASM command can start other commands (it imports `host_process`'s spawn or exec).
 *
 * Such a command is not run in this process when bubblewrap is there: its children run at the
 * same time as it does, and each path call of a guest is resolved inside the VM and then opened by
 * node:wasi, so a child swapping a directory for a link in between could send the parent's open
 * to the host (a link's target is read by the host kernel, where `/` is the host's). Inside the
 * namespace `/` is the VM's and nothing else is mounted, so the same swap stays in the VM.
 *
 * Loaded for every WASM command: no `import … from 'node:fs'` (see the note in run.ts).
 */
import {
  IMPORT_SECTION,
  Malformed,
  readImportDescriptor,
  readImportHead,
  sectionHeads,
} from '../../../wasm/sections.js'

import type {IsolationChoice} from '../process/sandbox.js'

const {closeSync, fstatSync, openSync, readSync} = process.getBuiltinModule('node:fs')

/** The type and import sections come first, and a command's are a few KiB of its megabytes. */
const HEAD = 64 << 10

/** The module's first bytes, or all of them (`whole`). */
function readModule(path: string, whole: boolean): Uint8Array {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const bytes = new Uint8Array(whole ? size : Math.min(size, HEAD))
    let got = 0
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got)
      if (n === 0) break
      got += n
    }
    return bytes.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}

/** The host_process functions that start a command. */
const STARTS = /^proc_(spawn|exec)/

/**
 * True when the module at `path` imports a `host_process` function that starts a command, or
 * when its import section cannot be read (the safe answer).
 */
export function startsCommands(path: string): boolean {
  try {
    const head = readModule(path, false)
    const answer = importsStart(head)
    return answer ?? (head.length < HEAD ? true : (importsStart(readModule(path, true)) ?? true))
  } catch (error) {
    if (error instanceof Malformed || (error as NodeJS.ErrnoException).code !== undefined) return true
    throw error
  }
}

/** The answer from the bytes at hand, or undefined when the import section goes past them. */
function importsStart(bytes: Uint8Array): boolean | undefined {
  for (const {id, body: r, end} of sectionHeads(bytes)) {
    if (end > bytes.length) return undefined
    // Sections other than custom ones (0) come in id order: past 2, there is no import section.
    if (id > IMPORT_SECTION) return false
    if (id !== IMPORT_SECTION) continue
    const count = r.leb()
    for (let i = 0; i < count; i++) {
      const {module, name, kind} = readImportHead(r)
      if (module === 'host_process' && STARTS.test(name)) return true
      readImportDescriptor(r, kind)
    }
    return false
  }
  return false
}

/**
 * True for a WASM command that starts other commands when bubblewrap can be used: it runs through
 * the WASI runner inside the namespace, with its children, instead of in this process.
 * Path-mapped there is no namespace to gain, so it stays in-process.
 */
export async function wantsNamespace(
  isolation: IsolationChoice | undefined,
  module: string | undefined,
): Promise<boolean> {
  if (isolation === 'path-mapped' || !module || !startsCommands(module)) return false
  const {detectIsolation} = await import('../process/sandbox.js')
  return (await detectIsolation(isolation)).isolation === 'bwrap'
}
