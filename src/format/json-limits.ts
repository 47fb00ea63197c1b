import type {Problem} from '../errors.js'

// The limits a strict JSON reader (the runtime's serde) holds a descriptor to beyond JSON.parse, with
// no third-party import: `run` applies them to every package it mounts, on its fast path.

/**
 * The deepest nesting of arrays and objects a descriptor may have: the runtime reads these files
 * with serde_json, whose default recursion limit (128) rejects the 128th nested level.
 */
export const MAX_JSON_DEPTH = 127

/**
 * The offset of the first `[`/`{` that opens level `limit + 1`, or undefined when the text stays
 * within `limit` levels. A flat scan (strings skipped, escapes honoured) that works on any text,
 * valid JSON or not, without recursion.
 */
function depthOverflow(text: string, limit: number): number | undefined {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--
    }
  }
  return undefined
}

/**
 * What makes `text` unreadable to the runtime although JSON.parse may take it: a byte order mark, or
 * nesting deeper than {@link MAX_JSON_DEPTH}. Undefined when neither.
 */
export function jsonEnvelopeProblem(text: string, file: string): Problem | undefined {
  if (text.charCodeAt(0) === 0xfeff) {
    return {
      code: 'ERR_AGENTOS_JSON_BOM',
      severity: 'error',
      path: file,
      message: `${file} starts with a UTF-8 byte order mark, which strict JSON readers reject`,
      hint: 'Save the file as UTF-8 without BOM.',
    }
  }
  const tooDeep = depthOverflow(text, MAX_JSON_DEPTH)
  if (tooDeep !== undefined) {
    const {line, column} = lineColumn(text, tooDeep)
    return {
      code: 'ERR_AGENTOS_JSON_TOO_DEEP',
      severity: 'error',
      path: `${file}:${line}:${column}`,
      message: `${file} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (line ${line}, column ${column})`,
      hint: 'Flatten the document; the runtime rejects JSON nested this deep.',
    }
  }
  return undefined
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): {line: number; column: number} {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return {line, column: offset - lineStart + 1}
}
