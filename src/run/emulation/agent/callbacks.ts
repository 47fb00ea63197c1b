/**
 * What the client answers when the agent calls it: session updates, permission requests, file
 * reads and writes inside the VM, and terminals (commands run in the same VM).
 */
import {randomUUID} from 'node:crypto'
import {constants} from 'node:fs'
import {lstat, mkdir, open, readFile, readlink} from 'node:fs/promises'
import {dirname, posix} from 'node:path'
import {planProcess, type VmSession} from '../process/exec.js'
import {type GuestProcess, startGuest} from '../process/spawn.js'
import {resolveCommand} from '../resolve.js'
import {assertRunnable} from '../run.js'
import {AGENTOS_ROOT, packageMount} from '../../vm/vm.js'

type Acp = typeof import('@agentclientprotocol/sdk')
/** The SDK's client, before it connects. */
export type AcpClient = ReturnType<Acp['client']>

/** An ACP terminal: a command the agent runs in the VM, and its output so far. */
export interface Terminal {
  guest: GuestProcess
  output: string
  truncated: boolean
  exitStatus?: {exitCode: number | null; signal: string | null}
}

/** What the agent said during a prompt. */
export interface Conversation {
  /** Every `session/update`, in order. */
  updates: unknown[]
  /** The text of its message chunks. */
  reply: string
}

/** Where the agent's calls land. */
export interface CallbackContext {
  session: VmSession
  /** Terminals by id; the caller ends those still running. */
  terminals: Map<string, Terminal>
  conversation: Conversation
  onUpdate?: (update: {sessionUpdate: string; [key: string]: unknown}) => void
}

/** Registers the client's answers to the agent on `app`. */
export function answerAgent(acp: Acp, app: AcpClient, ctx: CallbackContext): AcpClient {
  const {methods} = acp
  const {session, terminals, conversation} = ctx
  app
    .onNotification(methods.client.session.update, ({params}) => {
      conversation.updates.push(params.update)
      if (params.update.sessionUpdate === 'agent_message_chunk' && params.update.content.type === 'text') {
        conversation.reply += params.update.content.text
      }
      ctx.onUpdate?.(params.update as {sessionUpdate: string})
    })
    .onRequest(methods.client.session.requestPermission, ({params}) => {
      // A smoke test has nobody to ask: allow once (the guest is confined to the VM's writable layer).
      const option =
        params.options.find((o) => o.kind === 'allow_once') ??
        params.options.find((o) => o.kind === 'allow_always') ??
        params.options[0]
      return option
        ? {outcome: {outcome: 'selected', optionId: option.optionId}}
        : {outcome: {outcome: 'cancelled'}}
    })
    .onRequest(methods.client.fs.readTextFile, async ({params}) => {
      const file = await vmFile(session, params.path)
      let content = await readFile(file.host, 'utf8')
      if (params.line || params.limit) {
        const lines = content.split('\n')
        const first = Math.max(0, (params.line ?? 1) - 1)
        content = lines.slice(first, params.limit ? first + params.limit : undefined).join('\n')
      }
      return {content}
    })
    .onRequest(methods.client.fs.writeTextFile, async ({params}) => {
      const file = await vmFile(session, params.path)
      if (!file.writable)
        throw new acp.RequestError(-32603, `${params.path} is on a read-only mount of the VM`)
      await writeNoFollow(file.host, params.content)
      return {}
    })
  return answerTerminals(acp, app, session, terminals)
}

/** Writes `content` to a host file, refusing a link at its own name. */
async function writeNoFollow(host: string, content: string): Promise<void> {
  await mkdir(dirname(host), {recursive: true})
  // Every link on the way was followed inside the VM: the file itself must not be one.
  const handle = await open(
    host,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o644,
  )
  try {
    await handle.writeFile(content)
  } finally {
    await handle.close()
  }
}

/** The `terminal/*` requests. */
function answerTerminals(
  acp: Acp,
  app: AcpClient,
  session: VmSession,
  terminals: Map<string, Terminal>,
): AcpClient {
  const {methods} = acp
  return app
    .onRequest(methods.client.terminal.create, async ({params}) => {
      const id = `term-${randomUUID()}`
      terminals.set(id, await startTerminal(session, params))
      return {terminalId: id}
    })
    .onRequest(methods.client.terminal.output, ({params}) => {
      const terminal = terminalOf(terminals, params.terminalId)
      return {output: terminal.output, truncated: terminal.truncated, exitStatus: terminal.exitStatus ?? null}
    })
    .onRequest(methods.client.terminal.waitForExit, async ({params}) => {
      const terminal = terminalOf(terminals, params.terminalId)
      await terminal.guest.exited
      return terminal.exitStatus!
    })
    .onRequest(methods.client.terminal.kill, async ({params}) => {
      await terminalOf(terminals, params.terminalId).guest.terminate(1000)
      return {}
    })
    .onRequest(methods.client.terminal.release, async ({params}) => {
      const terminal = terminals.get(params.terminalId)
      terminals.delete(params.terminalId)
      if (terminal) await terminal.guest.terminate(1000)
      return {}
    })
}
/**
 * Where a VM path of an agent's fs request lives on the host, and whether the VM may write there:
 * packages (read-only), the rest of /opt/agentos (read-only, like its mount), overlays and
 * everything else of the writable root, or the host's read-only system directories. Links are
 * followed as the VM would (an absolute target from the VM's /, `..` stopping there), never on
 * the host: this client is a host process, and a link the guest made in its root must not lead it
 * to host files the guest cannot see.
 */
async function vmFile(session: VmSession, vmPath: string): Promise<{host: string; writable: boolean}> {
  if (!vmPath.startsWith('/')) throw new Error(`${vmPath} is not an absolute path`)
  // Path-mapped, the agent names files by their place in the per-run root (its cwd is mapped).
  const mapped = session.root.root
  if (session.isolation !== 'bwrap' && (vmPath === mapped || vmPath.startsWith(`${mapped}/`))) {
    vmPath = vmPath.slice(mapped.length) || '/'
  }
  return hostOf(session, await resolveVmPath(session, vmPath))
}

/** The VM path `vmPath` names once every link in it is followed inside the VM. */
async function resolveVmPath(session: VmSession, vmPath: string): Promise<string> {
  let pending = vmPath.split('/').filter(Boolean)
  let resolved = '/'
  let links = 0
  while (pending.length > 0) {
    const name = pending.shift()!
    if (name === '.') continue
    if (name === '..') {
      resolved = posix.dirname(resolved)
      continue
    }
    const next = posix.join(resolved, name)
    const host = hostOf(session, next).host
    const info = await lstat(host).catch(() => undefined)
    if (!info?.isSymbolicLink()) {
      resolved = next
      continue
    }
    if (++links > 40) throw new Error(`${vmPath}: too many levels of symbolic links`)
    const target = await readlink(host)
    if (target.startsWith('/')) resolved = '/'
    pending = [...target.split('/').filter(Boolean), ...pending]
  }
  return resolved
}

/** The host path of a VM path without links (see {@link vmFile}). */
function hostOf(session: VmSession, path: string): {host: string; writable: boolean} {
  const {vm, root} = session
  for (const pkg of vm.packages) {
    const mount = packageMount(pkg)
    if (path === mount || path.startsWith(`${mount}/`))
      return {host: pkg.dir + path.slice(mount.length), writable: false}
  }
  if (path === AGENTOS_ROOT || path.startsWith(`${AGENTOS_ROOT}/`)) {
    return {host: root.hostPath(path), writable: false}
  }
  if (vm.overlays.some((o) => path === o.target || path.startsWith(`${o.target}/`))) {
    return {host: root.hostPath(path), writable: true}
  }
  if (/^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc)(\/|$)/.test(path)) return {host: path, writable: false}
  return {host: root.hostPath(path), writable: true}
}

function terminalOf(terminals: Map<string, Terminal>, id: string): Terminal {
  const terminal = terminals.get(id)
  if (!terminal) throw new Error(`unknown terminal ${id}`)
  return terminal
}

/** An ACP terminal: a command run in the same VM, its output kept up to the requested limit. */
async function startTerminal(
  session: VmSession,
  params: {
    command: string
    args?: string[]
    env?: Array<{name: string; value: string}>
    outputByteLimit?: number | null
  },
): Promise<Terminal> {
  const resolution = await resolveCommand(session.vm, params.command)
  assertRunnable(resolution)
  const env = {...session.vm.env, ...Object.fromEntries((params.env ?? []).map((e) => [e.name, e.value]))}
  const plan = planProcess(session, resolution, params.args ?? [], env)
  const guest = await startGuest({
    file: plan.file,
    args: plan.args,
    env: plan.env,
    cwd: plan.cwd,
    infoFd: plan.infoFd,
    stdio: 'pipe',
  })
  guest.stdin?.end()
  const terminal: Terminal = {guest, output: '', truncated: false}
  const limit = params.outputByteLimit ?? 1024 * 1024
  const append = (chunk: Buffer) => {
    terminal.output += chunk.toString('utf8')
    if (Buffer.byteLength(terminal.output) > limit) {
      terminal.output = Buffer.from(terminal.output).subarray(-limit).toString('utf8')
      terminal.truncated = true
    }
  }
  guest.stdout?.on('data', append)
  guest.child.stderr?.on('data', append)
  void guest.exited.then((exit) => {
    terminal.exitStatus = {exitCode: exit.code, signal: exit.signal}
  })
  return terminal
}
