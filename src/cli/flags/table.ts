// One table per command's flags, read by both parsers: oclif's (flags/oclif.ts, for the commands)
// and node:util's parseArgs (the fast paths). This module imports nothing, so a fast path pays
// nothing for it.

/** One flag of a command. */
export interface FlagSpec {
  type: 'string' | 'boolean' | 'integer'
  description: string
  char?: string
  /** Repeatable; the value is an array. */
  multiple?: boolean
  /** The values a string flag accepts. */
  options?: readonly string[]
  default?: string | number | boolean
  /** The smallest value an integer flag accepts. */
  min?: number
  /** The largest value an integer flag accepts. */
  max?: number
  /** A boolean with a `--no-<name>` form. */
  allowNo?: boolean
  /**
   * The fast path answers argv using this flag. An argv with any other flag goes to oclif, which
   * also answers help, repeated and malformed flags with its own parser and messages.
   */
  fast?: boolean
}

/** A command's flags by name. */
export type FlagTable = Readonly<Record<string, FlagSpec>>

type ParseArgsOption = {type: 'string' | 'boolean'; short?: string; multiple?: boolean}

/** node:util parseArgs options for the fast flags of `table`, and `--json`. */
export function parseArgsOptions(table: FlagTable): Record<string, ParseArgsOption> {
  const options: Record<string, ParseArgsOption> = {json: {type: 'boolean'}}
  for (const [name, spec] of Object.entries(table)) {
    if (!spec.fast) continue
    options[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.char ? {short: spec.char} : {}),
      ...(spec.multiple ? {multiple: true} : {}),
    }
    if (spec.allowNo) options[`no-${name}`] = {type: 'boolean'}
  }
  return options
}

/** Flag values as oclif returns them: typed, defaults applied, `--no-x` folded into `x`. */
export type FlagValues = Record<string, string | number | boolean | string[] | undefined>

/**
 * The parseArgs `values` of a fast path as oclif would have parsed them, or undefined when oclif
 * would refuse them (a value outside `options`, an integer that is not one or outside `min`…`max`, both
 * `--x` and `--no-x`): the caller then hands the argv to oclif, which says why.
 */
export function fastFlagValues(
  table: FlagTable,
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
): FlagValues | undefined {
  const result: FlagValues = {}
  for (const [name, spec] of Object.entries(table)) {
    let value: FlagValues[string] = values[name] as FlagValues[string]
    if (spec.allowNo && values[`no-${name}`] === true) {
      if (value !== undefined) return undefined
      value = false
    }
    if (typeof value === 'string' && spec.options && !spec.options.includes(value)) return undefined
    if (typeof value === 'string' && spec.type === 'integer') {
      if (!/^\d+$/.test(value) || Number(value) < (spec.min ?? 0) || Number(value) > (spec.max ?? Infinity))
        return undefined
      value = Number(value)
    }
    result[name] = value ?? spec.default ?? (spec.type === 'boolean' ? false : undefined)
  }
  return result
}
