import {Flags, type Interfaces} from '@oclif/core'
import type {FlagSpec, FlagTable} from './table.js'

/** oclif's definition of one flag of a table. */
function oclifFlag(spec: FlagSpec) {
  // oclif's option types are keyed on literal `multiple`/`default` types that a table built at
  // runtime cannot give; the table's own type is what keeps the definitions honest.
  const options: Record<string, unknown> = {description: spec.description}
  if (spec.char) options.char = spec.char
  if (spec.default !== undefined) options.default = spec.default
  if (spec.type === 'boolean') return Flags.boolean({...options, allowNo: spec.allowNo === true} as never)
  if (spec.type === 'integer') return Flags.integer({...options, min: spec.min, max: spec.max} as never)
  if (spec.multiple) options.multiple = true
  if (spec.options) options.options = [...spec.options]
  return Flags.string(options as never)
}

/** oclif flag definitions for a command's flag table (flags/table.ts). */
export function oclifFlags(table: FlagTable): Interfaces.FlagInput {
  return Object.fromEntries(Object.entries(table).map(([name, spec]) => [name, oclifFlag(spec)]))
}
