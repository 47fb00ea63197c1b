import {parseArgs} from 'node:util'
import {PACK_FLAGS, packInput} from '../flags/pack.js'
import {fastFlagValues, parseArgsOptions} from '../flags/table.js'
import {printOutcome} from '../print.js'
import {dispatchPack} from '../invoke/pack.js'
import {renderPack} from '../render/pack.js'

const OPTIONS = parseArgsOptions(PACK_FLAGS)

/**
 * `pack` without oclif. Loading oclif and its plugins costs about 0.4 s before a byte is packed,
 * and the modules `pack` itself needs (arborist above all) as many again when loaded one by one;
 * bin/run.js loads this module from a single bundle (scripts/build.mjs) instead. The common shape —
 * one source and the documented flags, each at most once — is parsed here with node:util and
 * dispatched exactly as the oclif command does. Anything else (help, an unknown, repeated or
 * malformed flag, a bad option value) returns undefined and the caller hands the argv to oclif,
 * which answers with its own parser and messages.
 *
 * Returns the exit code when it handled the pack.
 */
export async function packFast(argv: readonly string[]): Promise<number | undefined> {
  if (argv[0] !== 'pack') return undefined
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv.slice(1))
  } catch {
    return undefined
  }
  const {values, positionals, tokens} = parsed
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    if (seen.has(token.name)) return undefined
    seen.add(token.name)
  }
  const flags = fastFlagValues(PACK_FLAGS, values)
  if (positionals.length !== 1 || !flags) return undefined
  const json = values.json === true
  return printOutcome(json, async () => {
    const result = await dispatchPack(packInput(positionals[0]!, flags, json))
    return {result, render: renderPack, exitCode: 0}
  })
}

function parse(args: string[]) {
  return parseArgs({args, allowPositionals: true, strict: true, tokens: true, options: OPTIONS})
}
