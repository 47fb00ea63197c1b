import {Command, Errors, ux} from '@oclif/core'
import {EXIT_FAILED, EXIT_USAGE, isAgentosError} from '../errors.js'
import {errorDocument, errorText, jsonDocument} from './print.js'

/**
 * Shared behaviour of every command: `--json` (exactly one JSON document on stdout), coded errors
 * rendered without stack traces, and the exit-code table (0 ok, 1 failed, 2 usage).
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /**
   * Prints a command's result (JSON under `--json`, else through `render`) and sets the exit code.
   * Commands return nothing from `run()` so oclif never prints a second document.
   */
  protected finish<T>(result: T, render: (result: T) => string, exitCode = 0): void {
    if (this.jsonEnabled()) ux.stdout(jsonDocument(result))
    else {
      const text = render(result)
      if (text) this.log(text)
    }
    if (exitCode !== 0) this.exit(exitCode)
  }

  /** Writes a progress or diagnostic line to stderr (never stdout, so `--json` stays clean). */
  protected note(message: string): void {
    this.logToStderr(message)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof Errors.ExitError) throw error
    if (isAgentosError(error)) {
      if (this.jsonEnabled()) ux.stdout(jsonDocument(errorDocument(error)))
      else this.logToStderr(errorText(error))
      this.exit(error.exitCode)
    }
    const oclifExit = (error as {oclif?: {exit?: number}}).oclif?.exit
    if (error instanceof Errors.CLIError && oclifExit === EXIT_USAGE) {
      // Flag and argument errors from the parser.
      const usage = {
        code: 'ERR_AGENTOS_USAGE',
        message: error.message,
        hint: `See ${this.config.bin} ${this.id} --help.`,
      }
      if (this.jsonEnabled()) ux.stdout(jsonDocument(errorDocument(usage)))
      else this.logToStderr(errorText(usage))
      this.exit(EXIT_USAGE)
    }
    // A programmer error: keep the stack (it is a bug to report), but keep stdout parseable.
    if (this.jsonEnabled()) {
      ux.stdout(jsonDocument(errorDocument({code: 'ERR_AGENTOS_INTERNAL', message: error.message})))
      this.logToStderr(error.stack ?? String(error))
      this.exit(EXIT_FAILED)
    }
    throw error
  }
}
