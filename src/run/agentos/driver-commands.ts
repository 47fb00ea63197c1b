import {clock, round, type DriverContext, type Vm} from './driver-context.js'
import type {DriverRequest} from './protocol.js'

// The driver's command operations: `exec` (a command with its output streamed), `which` and
// `describe` (shell probes of the VM).

/** The options of a spawn that the request decides: working directory and environment. */
const spawnPlace = (req: DriverRequest) => ({
  ...(req.cwd ? {cwd: req.cwd} : {}),
  ...(req.env && Object.keys(req.env).length > 0 ? {env: req.env} : {}),
})

/** Runs the request's command, streaming its output, and reports how it exited. */
export async function exec(ctx: DriverContext, vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  const output = {stdout: 0, stderrText: ''}
  let proc: {pid: number}
  try {
    proc = await spawnCommand(ctx, vm, req, output)
  } catch (error) {
    ctx.fail('spawn', error)
    return
  }
  const spawnMs = clock() - t
  let timedOut = false
  let stopped: string | undefined
  const kill = () => vm.process.kill(proc.pid).catch(() => {})
  const stop = (signal: string) => {
    stopped ??= signal
    void kill()
  }
  ctx.onStop(stop)
  const timer =
    req.timeoutMs && req.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true
          void kill()
        }, req.timeoutMs)
      : undefined
  forwardMessages(ctx, vm, req, proc.pid, stop)
  const exit = await vm.process.wait(proc.pid)
  if (timer) clearTimeout(timer)
  const rejected = /^sidecar rejected request \d+: ([a-z_]+): (.*)/.exec(output.stderrText.trim())
  ctx.send({
    type: 'result',
    result: {
      exit,
      timedOut: timedOut || exit.outcome === 'timed_out',
      stopped,
      stdoutBytes: output.stdout,
      // The sidecar refused the spawn itself (the command never ran): its reason, when it says one.
      rejected: rejected && output.stdout === 0 ? {kind: rejected[1], message: rejected[2]} : undefined,
      timings: {spawn: round(spawnMs), run: round(clock() - t)},
    },
  })
}

/** Spawns the command with its output sent as events; `output` counts what came. */
function spawnCommand(
  ctx: DriverContext,
  vm: Vm,
  req: DriverRequest,
  output: {stdout: number; stderrText: string},
): Promise<{pid: number}> {
  return vm.process.spawn(req.command!, req.args ?? [], {
    ...spawnPlace(req),
    onStdout: (chunk: Uint8Array) => {
      output.stdout += chunk.byteLength
      ctx.send({type: 'stdout', data: Buffer.from(chunk).toString('base64')})
    },
    onStderr: (chunk: Uint8Array) => {
      const text = Buffer.from(chunk).toString('utf8')
      // A spawn the sidecar refused (the command never ran) comes as this line on the process's
      // stderr: it is the runtime's message, reported in the result instead of as guest output.
      const refusal =
        output.stdout === 0 && output.stderrText === '' && /^sidecar rejected request \d+: /.test(text)
      // The first bytes are kept to tell such a refusal from the guest's own output.
      if (output.stderrText.length < 4096) output.stderrText += text
      if (!refusal) ctx.send({type: 'stderr', data: Buffer.from(chunk).toString('base64')})
    },
  })
}

/** Passes the parent's stdin and stop messages to the running command. */
function forwardMessages(
  ctx: DriverContext,
  vm: Vm,
  req: DriverRequest,
  pid: number,
  stop: (signal: string) => void,
): void {
  // stdin: forwarded chunk by chunk in order; without it the guest sees end of file at once.
  let stdinChain: Promise<unknown> = Promise.resolve()
  ctx.listen((message) => {
    if (message.type === 'stdin')
      stdinChain = stdinChain.then(() =>
        vm.process.writeStdin(pid, Buffer.from(String(message.data), 'base64')).catch(() => {}),
      )
    else if (message.type === 'stdin-end')
      stdinChain = stdinChain.then(() => vm.process.closeStdin(pid).catch(() => {}))
    else if (message.type === 'stop') stop(String(message.signal ?? 'SIGTERM'))
  })
  if (!req.stdin) stdinChain = vm.process.closeStdin(pid).catch(() => {})
}

/** Runs a shell line in the VM and returns its output (for `--which`, the description and `check`). */
export async function shell(vm: Vm, script: string, args: string[], req: DriverRequest) {
  let out = ''
  let err = ''
  const proc = await vm.process.spawn('sh', ['-c', script, 'sh', ...args], {
    ...spawnPlace(req),
    onStdout: (chunk: Uint8Array) => (out += Buffer.from(chunk).toString('utf8')),
    onStderr: (chunk: Uint8Array) => (err += Buffer.from(chunk).toString('utf8')),
  })
  await vm.process.closeStdin(proc.pid).catch(() => {})
  const exit = await vm.process.wait(proc.pid)
  return {out, err, exitCode: exit.exitCode ?? 1}
}

/** What `command -v` finds in the VM for the request's command, with the file's first bytes. */
export async function which(ctx: DriverContext, vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  try {
    // PATH as the guest has it, then what `command -v` answers, then the link chain (ls -l
    // prints it, as readlink may not be installed).
    const probe = await shell(
      vm,
      'printf "PATH=%s\\n" "$PATH"; p=$(command -v -- "$1") || exit 127; printf "FOUND=%s\\n" "$p"; case "$p" in /*) ls -ld -- "$p";; esac',
      [req.command!],
      req,
    )
    let head: string | undefined
    const found = /^FOUND=(.*)$/m.exec(probe.out)?.[1]
    if (found?.startsWith('/')) {
      const bytes = await vm.filesystem.readFile(found).catch(() => undefined)
      if (bytes) head = Buffer.from(bytes.subarray(0, 256)).toString('base64')
    }
    ctx.send({
      type: 'result',
      result: {...probe, head, software: await vm.software.list(), timings: {run: round(clock() - t)}},
    })
  } catch (error) {
    ctx.fail('which', error)
  }
}

/** The VM's software, agents, working directory and environment. */
export async function describe(ctx: DriverContext, vm: Vm, req: DriverRequest): Promise<void> {
  const t = clock()
  try {
    const [software, agents, probe] = await Promise.all([
      vm.software.list(),
      vm.agents.list(),
      shell(vm, 'pwd; env', [], req),
    ])
    ctx.send({type: 'result', result: {software, agents, probe, timings: {run: round(clock() - t)}}})
  } catch (error) {
    ctx.fail('describe', error)
  }
}
