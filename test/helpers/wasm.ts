import {readFile} from 'node:fs/promises'
import wabtInit from 'wabt'

type Wabt = Awaited<ReturnType<typeof wabtInit>>

let wabtPromise: Promise<Wabt> | undefined

/** The wabt instance, loaded once per test worker. */
function loadWabt(): Promise<Wabt> {
  wabtPromise ??= wabtInit()
  return wabtPromise
}

/** Assembles WebAssembly text into a core module binary (throws on syntax or validation errors). */
export async function watToWasm(watText: string, filename = 'x.wat'): Promise<Uint8Array> {
  const wabt = await loadWabt()
  const mod = wabt.parseWat(filename, watText)
  try {
    mod.resolveNames()
    mod.validate()
    const {buffer} = mod.toBinary({})
    // Copy out of the wabt heap before the module is destroyed.
    return Uint8Array.from(buffer)
  } finally {
    mod.destroy()
  }
}

/** Reads a `.wat` file and assembles it with {@link watToWasm}. */
export async function watFileToWasm(path: string): Promise<Uint8Array> {
  return watToWasm(await readFile(path, 'utf8'), path)
}
