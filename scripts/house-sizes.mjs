#!/usr/bin/env node
// Lists what issue 15's size rule flags: files over 400 lines and functions over 80 lines (by
// their own line span, nested functions counted separately) under src/. A file may say why it
// is longer in its header with a line containing "size:".
//
//   node scripts/house-sizes.mjs [--all]
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import ts from 'typescript'

const root = join(import.meta.dirname, '..')
const FILE_LIMIT = 400
const FUNCTION_LIMIT = 80
const all = process.argv.includes('--all')

function* sources(dir) {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sources(path)
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path
  }
}

let flagged = 0
for (const file of sources(join(root, 'src'))) {
  const text = readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const lines = source.getLineAndCharacterOfPosition(text.length).line + 1
  const name = relative(root, file)
  const excused = /^\/\/.*size:|^ \* .*size:/m.test(text.slice(0, 2000))
  if (lines > FILE_LIMIT && !excused) {
    flagged++
    console.log(`${name}: ${lines} lines`)
  }
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line
      const end = source.getLineAndCharacterOfPosition(node.end).line
      const span = end - start + 1
      if (span > FUNCTION_LIMIT || (all && span > FUNCTION_LIMIT / 2)) {
        flagged++
        const label = node.name?.getText() ?? `(anonymous at line ${start + 1})`
        console.log(`${name}:${start + 1}: function ${label}: ${span} lines`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
}
console.log(`${flagged} over the limits (files > ${FILE_LIMIT} lines, functions > ${FUNCTION_LIMIT} lines)`)
process.exitCode = flagged > 0 ? 1 : 0
