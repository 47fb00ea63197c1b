import AssembleWasm from './assemble-wasm.js'
import Inspect from './inspect.js'
import Pack from './pack.js'
import Run from './run.js'
import RuntimeInstall from './runtime/install.js'
import RuntimeList from './runtime/list.js'
import Validate from './validate.js'

/** The explicit command map (oclif "explicit" strategy), so the CLI bundles into one file. */
export const COMMANDS = {
  'assemble-wasm': AssembleWasm,
  inspect: Inspect,
  pack: Pack,
  run: Run,
  'runtime:install': RuntimeInstall,
  'runtime:list': RuntimeList,
  validate: Validate,
}
