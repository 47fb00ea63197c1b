import {type AgentosError, isAgentosError} from '../errors.js'

// The output contract of every command, in one place for the oclif commands (base-command.ts) and
// the fast paths: under --json exactly one JSON document on stdout, a result or {ok: false, error};
// otherwise the rendering on stdout and `error CODE: message` plus its hint on stderr.

/** The one JSON document a command prints under `--json` (without the final newline). */
export function jsonDocument(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

/** The document of a failed command: `{ok: false, error: {code, message, hint, …}}`. */
export function errorDocument(error: AgentosError | {code: string; message: string; hint?: string}): unknown {
  return {ok: false, error: isAgentosError(error) ? error.toJSON() : error}
}

/** A coded error as text for stderr: `error CODE: message` and, indented below it, the hint. */
export function errorText(error: {code: string; message: string; hint?: string}): string {
  return `error ${error.code}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`
}

/**
 * Prints what a fast path (cli/fast/run.ts, pack.ts) produced, exactly as BaseCommand prints a
 * command's result. Returns the exit code. Anything but a coded error is a bug and is rethrown.
 */
export async function printOutcome<T>(
  json: boolean,
  work: () => Promise<{result: T; render: (result: T) => string; exitCode: number}>,
): Promise<number> {
  try {
    const {result, render, exitCode} = await work()
    if (json) process.stdout.write(`${jsonDocument(result)}\n`)
    else {
      const text = render(result)
      if (text) process.stdout.write(`${text}\n`)
    }
    return exitCode
  } catch (error) {
    if (!isAgentosError(error)) throw error
    if (json) process.stdout.write(`${jsonDocument(errorDocument(error))}\n`)
    else process.stderr.write(`${errorText(error)}\n`)
    return error.exitCode
  }
}
