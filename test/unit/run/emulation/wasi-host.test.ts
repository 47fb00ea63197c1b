import {closeSync, existsSync, openSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {functionImports} from '../../../../src/run/emulation/wasi/host/signatures.js'
import {selfRunnerArgv} from '../../../../src/run/emulation/wasi/runner-command.js'
import {runWasi} from '../../../../src/run/emulation/wasi/wasi.js'
import {watFileToWasm, watToWasm} from '../../../helpers/wasm.js'

// The agentOS host layer (host_net, host_fs, host_user, host_process) on node:wasi, driven by WAT
// fixtures that call the host functions the way the agentOS libc does.
let work: string
let root: string
const wat = (name: string) => join(import.meta.dirname, '../../../../fixtures/wat', name)

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-host-'))
  root = join(work, 'root')
  await mkdir(root)
  await writeFile(join(root, 'file.txt'), 'line one\nline two\n')
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** Writes the module, runs it with `/` preopened and returns exit code and captured stdout. */
async function run(
  bytes: Uint8Array,
  name: string,
  stdin?: string,
): Promise<{exitCode: number; stdout: string; stderr: string}> {
  const module = join(work, `${name}.wasm`)
  await writeFile(module, bytes)
  const files = {
    stdin: join(work, `${name}.in`),
    stdout: join(work, `${name}.out`),
    stderr: join(work, `${name}.err`),
  }
  await writeFile(files.stdin, stdin ?? '')
  const fds = {
    stdin: openSync(files.stdin, 'r'),
    stdout: openSync(files.stdout, 'w'),
    stderr: openSync(files.stderr, 'w'),
  }
  try {
    const exitCode = await runWasi({
      module,
      args: [name],
      env: {},
      preopens: [{guest: '/', host: root}],
      runner: selfRunnerArgv(),
      stdin: fds.stdin,
      stdout: fds.stdout,
      stderr: fds.stderr,
    })
    return {exitCode, stdout: readFileSync(files.stdout, 'utf8'), stderr: readFileSync(files.stderr, 'utf8')}
  } finally {
    for (const fd of Object.values(fds)) closeSync(fd)
  }
}

describe('the agentOS host layer', () => {
  it('reads the function types of the imports from the binary', async () => {
    const imports = functionImports(await watFileToWasm(wat('host-abi.wat')))
    expect(imports).toContainEqual({module: 'host_fs', name: 'fd_size', params: ['i32'], results: ['i64']})
    expect(imports).toContainEqual({
      module: 'host_net',
      name: 'net_socket',
      params: ['i32', 'i32', 'i32', 'i32'],
      results: ['i32'],
    })
    expect(imports.map((i) => `${i.module}.${i.name}`)).toContain('wasi_snapshot_preview1.fd_write')
  })

  it('answers host_net with ENOTSOCK, so stdio falls back to fd_read/fd_write', async () => {
    const result = await run(await watFileToWasm(wat('host-stdio.wat')), 'host-stdio', 'from stdin\n')
    expect(result).toEqual({exitCode: 0, stdout: 'sent through fd_write\nfrom stdin\n', stderr: ''})
  })

  it('untags the hidden preopen fds (0x40000003 is the first preopen, /)', async () => {
    const result = await run(await watFileToWasm(wat('host-preopen.wat')), 'host-preopen')
    // Exit 8: host_fs.path_mode's st_mode of /file.txt is a regular file (S_IFREG >> 12).
    expect(result).toEqual({exitCode: 8, stdout: '/\nline one\nline two\n', stderr: ''})
  })

  it('answers isatty for real, the VM user, typed ENOSYS for unknown imports', async () => {
    const result = await run(await watFileToWasm(wat('host-abi.wat')), 'host-abi')
    expect(result.exitCode).toBe(0)
    expect(
      Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' ')),
      ),
    ).toEqual({
      'isatty-errno': '0',
      // stdout is a file here, not a terminal.
      'isatty-stdout': '0',
      uid: '1000',
      gid: '1000',
      fd_mode: '0',
      fd_size: '-1',
      pid: '1',
      sleep: '0',
      unknown: '52',
      unknown64: '-52',
      net_socket: '57',
    })
  })

  it('keeps pipes and dups in front of node:wasi (fd_pipe, fd_dup, fd_dup2, fd_close)', async () => {
    const result = await run(await watFileToWasm(wat('host-pipe.wat')), 'host-pipe')
    // Exit 0: the last read of the drained pipe is end of file.
    expect(result).toEqual({exitCode: 0, stdout: 'through a pipe\nafter close\n', stderr: ''})
  })

  it("redirects stdout into a pipe and back, the way a shell runs a builtin's redirection", async () => {
    const bytes = await watToWasm(`(module
      (import "host_process" "fd_pipe" (func $fd_pipe (param i32 i32) (result i32)))
      (import "host_process" "fd_dup" (func $fd_dup (param i32 i32) (result i32)))
      (import "host_process" "fd_dup2" (func $fd_dup2 (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 512) "captured\\n")
      (data (i32.const 560) "restored: ")
      (func $write (param $fd i32) (param $ptr i32) (param $len i32)
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func (export "_start")
        (drop (call $fd_dup (i32.const 1) (i32.const 100)))
        (drop (call $fd_pipe (i32.const 104) (i32.const 108)))
        (drop (call $fd_dup2 (i32.load (i32.const 108)) (i32.const 1)))
        (call $write (i32.const 1) (i32.const 512) (i32.const 9))
        (drop (call $fd_dup2 (i32.load (i32.const 100)) (i32.const 1)))
        (drop (call $fd_close (i32.load (i32.const 100))))
        (drop (call $fd_close (i32.load (i32.const 108))))
        (call $write (i32.const 1) (i32.const 560) (i32.const 10))
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.const 4096))
        (drop (call $fd_read (i32.load (i32.const 104)) (i32.const 16) (i32.const 1) (i32.const 24)))
        (call $write (i32.const 1) (i32.const 1024) (i32.load (i32.const 24)))))`)
    expect(await run(bytes, 'redirect')).toEqual({exitCode: 0, stdout: 'restored: captured\n', stderr: ''})
  })

  // A child runs in dist/run/emulation/wasi/main.js: `npm run build` first.
  const runnerBuilt = existsSync(join(import.meta.dirname, '../../../../dist/run/emulation/wasi/main.js'))
  it('spawns a command on a pipe, reads its output and waits for its status', async (context) => {
    if (!runnerBuilt) context.skip('dist/ is not built (npm run build; npm test does)')
    await mkdir(join(root, 'bin'), {recursive: true})
    const parent = await watFileToWasm(wat('host-spawn.wat'))
    await writeFile(join(root, 'bin/child'), await watFileToWasm(wat('args-env.wat')))
    expect(await run(parent, 'host-spawn')).toEqual({
      exitCode: 0,
      stdout: 'parent: child\nfrom parent\nGREETING=hi\nPWD=/\n',
      stderr: '',
    })
    await writeFile(join(root, 'bin/child'), await watFileToWasm(wat('exit-code.wat')))
    expect(await run(parent, 'host-spawn')).toEqual({exitCode: 3, stdout: 'parent: ', stderr: ''})
  })

  it('opens the host /dev/null for a VM without /dev', async () => {
    const bytes = await watToWasm(`(module
      (import "wasi_snapshot_preview1" "path_open"
        (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (import "host_fs" "fd_mode" (func $fd_mode (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 512) "dev/null")
      (func (export "_start") (local $err i32)
        (local.set $err (call $path_open (i32.const 0x40000003) (i32.const 1) (i32.const 512) (i32.const 8)
          (i32.const 0) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 24)))
        (if (local.get $err) (then (call $proc_exit (i32.add (i32.const 100) (local.get $err)))))
        (i32.store (i32.const 0) (i32.const 512))
        (i32.store (i32.const 4) (i32.const 8))
        (if (call $fd_write (i32.load (i32.const 24)) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 99))))
        ;; S_IFCHR >> 12 is 2.
        (call $proc_exit (i32.shr_u (call $fd_mode (i32.load (i32.const 24))) (i32.const 12)))))`)
    expect(await run(bytes, 'dev-null')).toEqual({exitCode: 2, stdout: '', stderr: ''})
  })

  it('proc_exec runs the command in place of the caller and exits with its status', async (context) => {
    if (!runnerBuilt) context.skip('dist/ is not built (npm run build; npm test does)')
    await mkdir(join(root, 'bin'), {recursive: true})
    await writeFile(join(root, 'bin/child'), await watFileToWasm(wat('args-env.wat')))
    const bytes = await watToWasm(`(module
      (import "host_process" "proc_exec" (func $exec (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 512) "/bin/child")
      (data (i32.const 600) "child\\00exec'd\\00")
      (func (export "_start")
        (call $proc_exit (i32.add (i32.const 100)
          (call $exec (i32.const 512) (i32.const 10) (i32.const 600) (i32.const 13) (i32.const 0) (i32.const 0)
            (i32.const 0) (i32.const 0))))))`)
    expect(await run(bytes, 'exec')).toEqual({exitCode: 0, stdout: "child\nexec'd\n", stderr: ''})
  })

  it('runs a child concurrently: waitpid(WNOHANG) sees it running, kill stops it', async (context) => {
    if (!runnerBuilt) context.skip('dist/ is not built (npm run build; npm test does)')
    await mkdir(join(root, 'bin'), {recursive: true})
    await writeFile(
      join(root, 'bin/child'),
      await watToWasm(`(module
        (import "host_process" "sleep_ms" (func $sleep_ms (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") (drop (call $sleep_ms (i32.const 10000)))))`),
    )
    const parent = await watToWasm(`(module
      (import "host_process" "proc_spawn_v3"
        (func $spawn (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "host_process" "proc_waitpid_v2" (func $waitpid (param i32 i32 i32 i32 i32 i32) (result i32)))
      (import "host_process" "proc_kill" (func $kill (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 512) "/bin/child")
      (data (i32.const 600) "child\\00")
      (func (export "_start")
        (if (call $spawn (i32.const 512) (i32.const 10) (i32.const 600) (i32.const 6) (i32.const 0) (i32.const 0)
              (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
              (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 120))
          (then (call $proc_exit (i32.const 90))))
        ;; WNOHANG: still running, so the reported pid is 0.
        (i32.store (i32.const 138) (i32.const 7))
        (drop (call $waitpid (i32.load (i32.const 120)) (i32.const 1) (i32.const 130) (i32.const 134) (i32.const 138) (i32.const 142)))
        (if (i32.load (i32.const 138)) (then (call $proc_exit (i32.const 91))))
        (drop (call $kill (i32.load (i32.const 120)) (i32.const 15)))
        (drop (call $waitpid (i32.load (i32.const 120)) (i32.const 0) (i32.const 130) (i32.const 134) (i32.const 138) (i32.const 142)))
        ;; Exit with the terminating signal.
        (call $proc_exit (i32.load (i32.const 134)))))`)
    const start = performance.now()
    expect(await run(parent, 'wnohang')).toEqual({exitCode: 15, stdout: '', stderr: ''})
    expect(performance.now() - start).toBeLessThan(8000)
  })

  it('still refuses imports from modules that neither WASI nor agentOS provides', async () => {
    const bytes = await watToWasm(`(module
      (import "env" "host_thing" (func (param i32) (result i32)))
      (import "host_fs" "fd_mode" (func (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`)
    await expect(run(bytes, 'foreign')).rejects.toMatchObject({
      code: 'ERR_AGENTOS_RUN_WASM_IMPORTS',
      exitCode: 126,
      message: expect.stringContaining('imports env,'),
    })
  })
})
