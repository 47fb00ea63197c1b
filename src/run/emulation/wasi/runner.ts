import {isAgentosError} from '../../../errors.js'
import {mapPathsInValue} from '../process/path-values.js'
import type {Preopen} from './host/abi.js'
import {selfRunnerArgv} from './runner-command.js'
import {runWasi} from './wasi.js'

/**
 * The runner's main: parses `[--preopen GUEST=HOST]… [--ro-preopen GUEST=HOST]… -- MODULE ARGV0
 * [ARG]…`, runs the module with this process's env and standard descriptors, and returns its exit
 * code. Without preopens the guest's `/` is this process's `/` (inside bubblewrap, the VM).
 */
export async function wasiRunnerMain(argv: readonly string[]): Promise<number> {
  const preopens: Preopen[] = []
  let index = 0
  for (; index < argv.length && argv[index] !== '--'; index += 2) {
    const [flag, value] = [argv[index]!, argv[index + 1] ?? '']
    const eq = value.indexOf('=')
    preopens.push({guest: value.slice(0, eq), host: value.slice(eq + 1), readOnly: flag === '--ro-preopen'})
  }
  const [module, ...args] = argv.slice(index + 1)
  if (!module || args.length === 0) {
    process.stderr.write('usage: wasi runner [--preopen G=H]… -- MODULE ARGV0 [ARG]…\n')
    return 2
  }
  if (preopens.length === 0) preopens.push({guest: '/', host: '/'})
  const toVm = unmapper(preopens.find((p) => p.guest === '/')?.host)
  const env = Object.fromEntries(
    Object.entries(process.env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([name, value]) => [name, toVm(value)]),
  )
  try {
    return await runWasi({module, args: args.map(toVm), env, preopens, runner: selfRunnerArgv()})
  } catch (error) {
    process.stderr.write(
      isAgentosError(error) ? `${args[0]}: ${error.message}\n` : `${args[0]}: ${(error as Error).stack}\n`,
    )
    return isAgentosError(error) ? error.exitCode : 1
  }
}

/**
 * Path-mapped mode rewrites VM paths in env and argv to the assembled root (sandbox.ts), for guests
 * that see the host's files. A WASI guest sees the VM through its preopens, so the runner turns
 * them back into VM paths.
 */
function unmapper(root: string | undefined): (value: string) => string {
  if (!root || root === '/') return (value) => value
  const toVm = (path: string) =>
    path === root ? '/' : path.startsWith(`${root}/`) ? path.slice(root.length) : path
  return (value) => mapPathsInValue(value, toVm)
}
