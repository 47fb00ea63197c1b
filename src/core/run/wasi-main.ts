/**
 * Entry point that runs one WASI command in a child Node.js process, for guests that spawn
 * processes (a Node.js or sh guest running `/opt/agentos/bin/<wasm command>`, an ACP agent or
 * terminal whose command is WebAssembly). The host kernel cannot execute `\0asm`, so the VM's
 * command links for WASM are shims that exec this runner.
 *
 *   node wasi-main.js [--preopen GUEST=HOST]… [--ro-preopen GUEST=HOST]… -- MODULE ARGV0 [ARG]…
 *
 * Without preopens the guest's `/` is this process's `/` (inside the bubblewrap namespace, the VM).
 */
import {isAgentosError} from '../errors.js'
import {type Preopen, runWasi} from './wasi.js'

const argv = process.argv.slice(2)
const preopens: Preopen[] = []
let index = 0
for (; index < argv.length && argv[index] !== '--'; index += 2) {
  const [flag, value] = [argv[index]!, argv[index + 1] ?? '']
  const eq = value.indexOf('=')
  preopens.push({guest: value.slice(0, eq), host: value.slice(eq + 1), readOnly: flag === '--ro-preopen'})
}
const [module, ...args] = argv.slice(index + 1)
if (!module || args.length === 0) {
  process.stderr.write('usage: wasi-main.js [--preopen G=H]… -- MODULE ARGV0 [ARG]…\n')
  process.exit(2)
}
if (preopens.length === 0) preopens.push({guest: '/', host: '/'})
const env = Object.fromEntries(
  Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
)
try {
  process.exitCode = await runWasi({module, args, env, preopens})
} catch (error) {
  process.stderr.write(
    isAgentosError(error) ? `${args[0]}: ${error.message}\n` : `${args[0]}: ${(error as Error).stack}\n`,
  )
  process.exitCode = isAgentosError(error) ? error.exitCode : 1
}
