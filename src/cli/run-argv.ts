// Not `import … from 'node:fs'`: see the note in run.ts.
const {existsSync} = process.getBuiltinModule('node:fs')

/** `run`'s argv split at the first `--`: its own flags and packages, then the guest command. */
export interface RunArgv {
  own: string[]
  command?: string
  args: string[]
}

/** The value a bare `--agent` stands for: "the only agent among the packages". */
export const ANY_AGENT = ''

/**
 * Splits `run`'s argv at the first `--` (everything after it belongs to the guest, flags
 * included) and turns a bare `--agent` into `--agent=` so the flag parser accepts the optional
 * value: `--agent` followed by nothing, by a flag, or by an existing path (a package) has no name.
 */
export function splitRunArgv(argv: readonly string[]): RunArgv {
  const dashes = argv.indexOf('--')
  const own = dashes < 0 ? [...argv] : argv.slice(0, dashes)
  const guest = dashes < 0 ? [] : argv.slice(dashes + 1)
  for (let i = 0; i < own.length; i++) {
    if (own[i] !== '--agent') continue
    const next = own[i + 1]
    if (next === undefined || next.startsWith('-') || next.includes('/') || existsSync(next))
      own[i] = `--agent=${ANY_AGENT}`
  }
  return {own, command: guest[0], args: guest.slice(1)}
}
