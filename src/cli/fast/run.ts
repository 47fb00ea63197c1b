import {parseArgs} from 'node:util'
import {splitRunArgv} from '../run-argv.js'
import {printOutcome} from '../print.js'
import {dispatchRun, RUN_DEFAULTS} from '../invoke/run.js'

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
  if (positionals.length === 0 || split.command === undefined) return undefined
  const integer = (value: string | undefined, fallback?: number) => {
    if (value === undefined) return fallback
    return /^\d+$/.test(value) ? Number(value) : Number.NaN
  }
  const timeout = integer(values.timeout)
  const killAfter = integer(values['kill-after'], RUN_DEFAULTS.killAfter)!
  const isolation = values.isolation ?? RUN_DEFAULTS.isolation
  if (
    Number.isNaN(timeout) ||
    Number.isNaN(killAfter) ||
    !['auto', 'bwrap', 'path-mapped'].includes(isolation)
  ) {
    return undefined
  }
  const json = values.json === true
  return printOutcome(json, async () => {
    const outcome = await dispatchRun(
      {
        ...RUN_DEFAULTS,
        packages: positionals,
        command: split.command,
        args: split.args,
        env: values.env ?? [],
        // Undefined: the VM picks it (/workspace for a command, /home/agentos for an agent).
        cwd: values.cwd,
        isolation: isolation as 'auto' | 'bwrap' | 'path-mapped',
        timeout: timeout || undefined,
        killAfter,
        keepRoot: values['keep-root'] === true,
        node: values.node,
        json,
      },
      {note: (message) => process.stderr.write(`${message}\n`), write: (text) => process.stdout.write(text)},
    )
    return {...outcome, render: outcome.render as (result: unknown) => string}
  })
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      env: {type: 'string', short: 'e', multiple: true},
      cwd: {type: 'string'},
      isolation: {type: 'string'},
      timeout: {type: 'string'},
      'kill-after': {type: 'string'},
      node: {type: 'string'},
      'keep-root': {type: 'boolean'},
      json: {type: 'boolean'},
    },
  })
}
