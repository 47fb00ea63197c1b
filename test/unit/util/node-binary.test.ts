import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {arch, platform, tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {findNodeExecutable, isSea} from '../../../src/util/node-binary.js'
import {versionLine} from '../../../src/cli/fast/version.js'

let scratch: string
const savedPath = process.env.PATH

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'agentos-node-binary-'))
  for (const dir of ['a', 'b', 'c']) mkdirSync(join(scratch, dir))
  // a/node is not executable, b/node is, c/node is a directory: only b/node qualifies.
  writeFileSync(join(scratch, 'a/node'), '#!/bin/sh\n')
  writeFileSync(join(scratch, 'b/node'), '#!/bin/sh\n')
  chmodSync(join(scratch, 'b/node'), 0o755)
  mkdirSync(join(scratch, 'c/node'))
})
afterEach(() => {
  process.env.PATH = savedPath
})
afterAll(() => {
  rmSync(scratch, {recursive: true, force: true})
})

describe('findNodeExecutable', () => {
  it('is the running Node outside the single binary', () => {
    expect(isSea()).toBe(false)
    expect(findNodeExecutable()).toBe(process.execPath)
  })

  it('honours an explicit path, absolute or relative, only when it is an executable file', () => {
    expect(findNodeExecutable(join(scratch, 'b/node'))).toBe(join(scratch, 'b/node'))
    expect(findNodeExecutable(relative(process.cwd(), join(scratch, 'b/node')))).toBe(join(scratch, 'b/node'))
    expect(findNodeExecutable(join(scratch, 'a/node'))).toBeUndefined()
    expect(findNodeExecutable(join(scratch, 'c/node'))).toBeUndefined()
    expect(findNodeExecutable(join(scratch, 'missing/node'))).toBeUndefined()
  })

  it('looks an explicit bare name up on PATH, skipping what is not an executable file', () => {
    process.env.PATH = ['', join(scratch, 'a'), join(scratch, 'c'), join(scratch, 'b')].join(':')
    expect(findNodeExecutable('node')).toBe(join(scratch, 'b/node'))
    process.env.PATH = join(scratch, 'a')
    expect(findNodeExecutable('node')).toBeUndefined()
  })
})

describe('versionLine', () => {
  const pjson = {name: 'agentos-toolchain', version: '1.2.3', oclif: {}}
  const expected = `agentos-toolchain/1.2.3 ${platform()}-${arch()} node-${process.version}`

  it('answers a leading --version the way oclif would', async () => {
    expect(await versionLine(['--version'], pjson)).toBe(expected)
    expect(await versionLine(['-v'], {...pjson, oclif: {additionalVersionFlags: ['-v']}})).toBe(expected)
  })

  it('leaves everything else to oclif', async () => {
    expect(await versionLine([], pjson)).toBeUndefined()
    expect(await versionLine(['validate', '--version'], pjson)).toBeUndefined()
    expect(await versionLine(['-v'], pjson)).toBeUndefined()
    // An init hook could print or exit first: oclif must run it.
    expect(await versionLine(['--version'], {...pjson, oclif: {hooks: {init: './hook.js'}}})).toBeUndefined()
  })
})
