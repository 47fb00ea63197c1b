import {isAgentosError} from '../errors.js'

/**
 * Prints what a fast path (run-fast, pack-fast) produced, the way BaseCommand prints it: the
 * result as one JSON document under `--json`, else its rendering; a coded error as
 * `{ok: false, error}` on stdout under `--json`, else `error CODE: message` and its hint on stderr.
 * Returns the exit code. Anything but a coded error is a bug and is rethrown.
 */
export async function printOutcome<T>(
  json: boolean,
  work: () => Promise<{result: T; render: (result: T) => string; exitCode: number}>,
): Promise<number> {
  try {
    const {result, render, exitCode} = await work()
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else {
      const text = render(result)
      if (text) process.stdout.write(`${text}\n`)
    }
    return exitCode
  } catch (error) {
    if (!isAgentosError(error)) throw error
    if (json) process.stdout.write(`${JSON.stringify({ok: false, error: error.toJSON()}, null, 2)}\n`)
    else
      process.stderr.write(
        `error ${error.code}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`,
      )
    return error.exitCode
  }
}
