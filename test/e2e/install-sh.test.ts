// install.sh against a local HTTP server on 127.0.0.1. Under AGENTOS_TOOLCHAIN_EXE (the CI step
// after `npm run build:binary`) it serves the built binary and its SHA256SUMS; otherwise a small
// stand-in executable with its own SHA256SUMS, so the script's logic is tested in every run.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/cli.js'

const ARTIFACT = 'agentos-toolchain-linux-x64'
const exe = process.env.AGENTOS_TOOLCHAIN_EXE
let work: string
let server: Server
let baseUrl: string
let binary: string
let sums: string
const requests: string[] = []

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agentos-install-'))
  if (exe) {
    binary = exe
    sums = join(dirname(exe), 'SHA256SUMS')
  } else {
    binary = join(work, ARTIFACT)
    writeFileSync(binary, '#!/bin/sh\necho "agentos-toolchain/0.0.0-stand-in"\n')
    chmodSync(binary, 0o755)
    sums = join(work, 'SHA256SUMS')
    const hash = createHash('sha256').update(readFileSync(binary)).digest('hex')
    writeFileSync(sums, `${'0'.repeat(64)}  agentos-toolchain-darwin-arm64\n${hash}  ${ARTIFACT}\n`)
  }
  const wrongSums = join(work, 'SHA256SUMS.wrong')
  writeFileSync(wrongSums, `${'ab'.repeat(32)}  ${ARTIFACT}\n`)
  const otherSums = join(work, 'SHA256SUMS.other')
  writeFileSync(otherSums, `${'ab'.repeat(32)}  agentos-toolchain-linux-arm64\n`)
  // Each first path segment is one release as a mirror would serve it.
  const routes: Record<string, string> = {
    [`/good/${ARTIFACT}`]: binary,
    '/good/SHA256SUMS': sums,
    [`/mismatch/${ARTIFACT}`]: binary,
    '/mismatch/SHA256SUMS': wrongSums,
    [`/no-binary/SHA256SUMS`]: sums,
    [`/no-sums/${ARTIFACT}`]: binary,
    [`/no-entry/${ARTIFACT}`]: binary,
    '/no-entry/SHA256SUMS': otherSums,
  }
  server = createServer((req, res) => {
    requests.push(req.url ?? '')
    const file = routes[req.url ?? '']
    if (!file) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, {'content-length': statSync(file).size})
    createReadStream(file).pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  rmSync(work, {recursive: true, force: true})
})

interface Run {
  exitCode: number
  stderr: string
  /** What the script left in its TMPDIR: must always be nothing. */
  leftovers: string[]
}

/** Runs install.sh under /bin/sh with a clean environment (no proxies) and a TMPDIR of its own. */
async function install(args: string[], env: Record<string, string>): Promise<Run> {
  const scratch = mkdtempSync(join(work, 'tmp-'))
  const home = join(work, 'home')
  const result = await new Promise<{exitCode: number; stderr: string}>((resolve, reject) => {
    const child = spawn('/bin/sh', [join(ROOT, 'install.sh'), ...args], {
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: scratch, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({exitCode: code ?? 1, stderr}))
  })
  return {...result, leftovers: readdirSync(scratch)}
}

const installed = (prefix: string) => join(prefix, 'bin/agentos-toolchain')

describe('install.sh', () => {
  it('downloads, verifies and installs into --prefix/bin, replacing an earlier install', async () => {
    const prefix = join(work, 'prefix-ok')
    for (let round = 0; round < 2; round++) {
      const run = await install(['--prefix', prefix], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/good/`})
      expect(run.exitCode, run.stderr).toBe(0)
      expect(run.stderr).toContain(`installed ${installed(prefix)}`)
      expect(run.leftovers).toEqual([])
    }
    expect(readFileSync(installed(prefix)).equals(readFileSync(binary))).toBe(true)
    expect(statSync(installed(prefix)).mode & 0o777).toBe(0o755)
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['agentos-toolchain'])
    const version = await new Promise<string>((resolve, reject) => {
      const child = spawn(installed(prefix), ['--version'], {stdio: ['ignore', 'pipe', 'inherit']})
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
      child.on('error', reject)
      child.on('close', () => resolve(out))
    })
    expect(version).toMatch(/^agentos-toolchain\/\S+/)
  })

  it('installs into ~/.local/bin by default', async () => {
    const run = await install([], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/good`})
    expect(run.exitCode, run.stderr).toBe(0)
    expect(existsSync(installed(join(work, 'home/.local')))).toBe(true)
    // That directory is not on the PATH given: the script says how to add it.
    expect(run.stderr).toContain('is not on PATH')
  })

  it('refuses a checksum mismatch and leaves nothing behind', async () => {
    const prefix = join(work, 'prefix-mismatch')
    const run = await install(['--prefix', prefix], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/mismatch`})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain('checksum mismatch')
    expect(run.stderr).toContain('nothing installed')
    expect(existsSync(prefix)).toBe(false)
    expect(run.leftovers).toEqual([])
  })

  it('keeps an earlier install untouched when the new download does not verify', async () => {
    const prefix = join(work, 'prefix-upgrade')
    mkdirSync(join(prefix, 'bin'), {recursive: true})
    writeFileSync(installed(prefix), 'the earlier binary')
    const run = await install([`--prefix=${prefix}`], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/mismatch`})
    expect(run.exitCode).toBe(1)
    expect(readFileSync(installed(prefix), 'utf8')).toBe('the earlier binary')
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['agentos-toolchain'])
  })

  it('refuses when the binary, SHA256SUMS or its entry is missing', async () => {
    for (const [release, message] of [
      ['no-binary', `could not download ${baseUrl}/no-binary/${ARTIFACT}`],
      ['no-sums', `could not download ${baseUrl}/no-sums/SHA256SUMS`],
      ['no-entry', `has no entry for ${ARTIFACT}`],
      ['no-such-release', 'could not download'],
    ]) {
      const prefix = join(work, `prefix-${release}`)
      const run = await install(['--prefix', prefix], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/${release}`})
      expect(run.exitCode, release).toBe(1)
      expect(run.stderr, release).toContain(message)
      expect(existsSync(prefix), release).toBe(false)
      expect(run.leftovers, release).toEqual([])
    }
  })

  it('refuses an unsupported platform before downloading anything', async () => {
    const before = requests.length
    for (const platform of ['darwin-arm64', 'linux-arm64', 'windows-x64']) {
      const prefix = join(work, `prefix-${platform}`)
      const run = await install(['--prefix', prefix], {
        AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/good`,
        AGENTOS_TOOLCHAIN_PLATFORM: platform,
      })
      expect(run.exitCode, platform).toBe(1)
      expect(run.stderr).toContain(`no prebuilt binary for ${platform} (only linux-x64 is built)`)
      expect(run.stderr).toContain('npx agentos-toolchain')
      expect(existsSync(prefix)).toBe(false)
    }
    expect(requests.length).toBe(before)
  })

  it('rejects unknown options', async () => {
    const run = await install(['--prefx', '/tmp/x'], {AGENTOS_TOOLCHAIN_BASE_URL: `${baseUrl}/good`})
    expect(run.exitCode).toBe(1)
    expect(run.stderr).toContain('unknown option: --prefx')
  })
})
