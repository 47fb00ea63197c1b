import {errorDocument, jsonDocument} from './print.js'

/**
 * The `--json` answer to an unknown command. oclif's plugin-not-found says it only in words on
 * stderr, which left a `--json` caller with an empty stdout; both entries (bin/run.js and the
 * single binary's) print this instead when the argv asks for JSON.
 *
 * @returns the JSON document to print on stdout, or undefined without `--json`.
 */
export function unknownCommandDocument(argv: readonly string[], bin: string): string | undefined {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  if (!own.includes('--json')) return undefined
  const command = own.find((arg) => !arg.startsWith('-')) ?? ''
  const error = {
    code: 'ERR_AGENTOS_USAGE',
    message: `${JSON.stringify(command)} is not an ${bin} command`,
    hint: `Run ${bin} --help for the commands.`,
  }
  return `${jsonDocument(errorDocument(error))}\n`
}
