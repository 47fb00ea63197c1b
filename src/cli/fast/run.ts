import {parseArgs} from 'node:util'
import {splitRunArgv} from '../run-argv.js'
import {printOutcome} from '../print.js'
import {RUN_FLAGS, runInput} from '../flags/run.js'
import {fastFlagValues, parseArgsOptions} from '../flags/table.js'
import {dispatchRun} from '../invoke/run.js'

/**
 * `run` without oclif. Loading oclif and every command costs several times a whole WASM command
 * run, so the common shape — packages, the guest command after `--`, and the plain value flags —
 * is parsed here with node:util and dispatched exactly as the oclif command does. Anything else
 * (help, --which, --agent, an unknown or malformed flag) returns undefined and the caller hands
 * the argv to oclif, which answers with its own parser and messages.
 *
 * Returns the exit code when it handled the run.
 */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  if (argv[0] !== 'run') return undefined
  const split = splitRunArgv(argv.slice(1))
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(split.own)
  } catch {
    return undefined
  }
  const {values, positionals} = parsed
  const flags = fastFlagValues(RUN_FLAGS, values)
  if (positionals.length === 0 || split.command === undefined || !flags) return undefined
  const json = values.json === true
  return printOutcome(json, async () => {
    const outcome = await dispatchRun(runInput(positionals, split, flags, json), {
      note: (message) => process.stderr.write(`${message}\n`),
      write: (text) => process.stdout.write(text),
    })
    return {...outcome, render: outcome.render as (result: unknown) => string}
  })
}

const OPTIONS = parseArgsOptions(RUN_FLAGS)

function parse(args: string[]) {
  return parseArgs({args, allowPositionals: true, strict: true, options: OPTIONS})
}
