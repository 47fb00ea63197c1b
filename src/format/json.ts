import {type ParseError, printParseErrorCode, visit} from 'jsonc-parser'
import type {Problem} from '../errors.js'
import {jsonEnvelopeProblem, lineColumn, MAX_JSON_DEPTH} from './json-limits.js'

/** The deepest nesting a descriptor may have (see json-limits.ts). */
export {MAX_JSON_DEPTH}

/** Result of {@link parseJsonDocument}: the value, or a syntax problem with line and column. */
export type JsonParse = {ok: true; value: unknown; problems: Problem[]} | {ok: false; problems: Problem[]}

/**
 * Parses a JSON file strictly (as the runtime's serde reader does) and reports what is wrong with
 * it precisely: a syntax error with line and column, a byte order mark, duplicate keys.
 */
export function parseJsonDocument(text: string, file: string): JsonParse {
  const problems: Problem[] = []
  // Checked before anything else looks at the text: the syntax locator and the duplicate-key scan
  // (jsonc-parser) recurse once per level and overflow the stack on a document nested 100k deep.
  const refused = jsonEnvelopeProblem(text, file)
  if (refused) return {ok: false, problems: [refused]}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    const {line, column, reason} = locateSyntaxError(text)
    return {
      ok: false,
      problems: [
        {
          code: 'ERR_AGENTOS_JSON_SYNTAX',
          severity: 'error',
          path: `${file}:${line}:${column}`,
          message: `${file} is not valid JSON: ${reason} at line ${line}, column ${column}`,
          hint: 'Fix the JSON syntax (no comments, no trailing commas, double-quoted keys).',
        },
      ],
    }
  }
  for (const key of findDuplicateKeys(text)) {
    problems.push({
      code: 'WARN_AGENTOS_JSON_DUPLICATE_KEY',
      severity: 'warning',
      path: `${file}#${key.pointer}`,
      message: `${file} repeats the key "${key.name}" at line ${key.line}; readers disagree on which one wins`,
      hint: 'Keep one of the duplicate keys.',
    })
  }
  return {ok: true, value, problems}
}

/** Lenient parse for files Node itself reads (dependency package.json files): BOM allowed. */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return undefined
  }
}

function locateSyntaxError(text: string): {line: number; column: number; reason: string} {
  const errors: ParseError[] = []
  visit(
    text,
    {onError: (error, offset) => errors.push({error, offset, length: 0})},
    {
      allowTrailingComma: false,
      disallowComments: true,
      allowEmptyContent: false,
    },
  )
  const first = errors[0]
  if (!first) return {...lineColumn(text, text.length), reason: 'unexpected content'}
  const reason = printParseErrorCode(first.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
  return {...lineColumn(text, first.offset), reason}
}

interface DuplicateKey {
  name: string
  pointer: string
  line: number
}

function findDuplicateKeys(text: string): DuplicateKey[] {
  const duplicates: DuplicateKey[] = []
  const stack: Set<string>[] = []
  visit(text, {
    onObjectBegin: () => {
      stack.push(new Set())
    },
    onObjectEnd: () => {
      stack.pop()
    },
    onObjectProperty: (name, offset, _length, _line, _column, pathSupplier) => {
      const seen = stack[stack.length - 1]
      if (!seen) return
      if (seen.has(name)) {
        const pointer = [...pathSupplier(), name].map((p) => String(p)).join('.')
        duplicates.push({name, pointer, line: lineColumn(text, offset).line})
      }
      seen.add(name)
    },
  })
  return duplicates
}
