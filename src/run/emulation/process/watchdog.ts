/**
 * The watchdog of path-mapped guests. Inside bubblewrap a guest dies with the CLI
 * (`--die-with-parent` and its pid namespace); path-mapped there is neither, and Node.js cannot
 * reach PR_SET_PDEATHSIG or PR_SET_CHILD_SUBREAPER (the first would cover only the direct child
 * anyway, not the WASM commands a guest runs through the WASI runner). So each path-mapped guest
 * is registered with one small `/bin/sh` per CLI process that reads the registrations from a
 * pipe: the pipe's end of file means the CLI is gone (a SIGKILL included: the kernel closes its
 * fds), and the watchdog then kills every registered guest's whole tree.
 *
 * The tree, not only the guest's process group: a guest sharing the CLI's terminal stays in the
 * CLI's group (a new group would lose the terminal's job control), and a guest's child may start
 * a session of its own. Killing the guest first would hand its children to init, out of reach,
 * so the watchdog first stops every process it finds below a guest (a stopped process cannot
 * fork), looks again for children forked meanwhile, and only then kills them all. What it cannot
 * reach: a descendant that had already left the tree (a double fork) before the CLI died.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {accessSync, constants, existsSync, statSync} from 'node:fs'
import {isAbsolute} from 'node:path'
import type {Writable} from 'node:stream'

/**
 * Lines `+<target>` register and `-<target>` unregister a kill target: `-<pgid>` for a guest
 * leading its own process group, or the pid of a guest in the CLI's group. Signals meant for the
 * CLI's terminal group are ignored: only the pipe's end counts. At the end the groups are
 * stopped, three rounds of walking /proc/<pid>/task/<tid>/children stop the trees (a process
 * forking while one round reads its children is found by the next), then all are SIGKILLed. Only
 * builtins in the walk: a fork per process read would take seconds on a loaded machine.
 */
const SCRIPT = `trap '' INT TERM HUP QUIT TSTP
k=
while read -r l; do
  case $l in
    +*) k="$k \${l#+}" ;;
    -*) n=; for p in $k; do [ "$p" = "\${l#-}" ] || n="$n $p"; done; k=$n ;;
  esac
done
for p in $k; do kill -s STOP -- "$p" 2>/dev/null; done
all=
for round in 1 2 3; do
  todo=$all
  for p in $k; do todo="$todo \${p#-}"; done
  seen=' '
  while :; do
    set -- $todo
    [ $# -gt 0 ] || break
    p=$1; shift; todo=$*
    case $seen in *" $p "*) continue ;; esac
    seen="$seen$p "
    kill -s STOP "$p" 2>/dev/null || continue
    for t in /proc/$p/task/*/children; do
      c=; read -r c < "$t" 2>/dev/null; todo="$todo $c"
    done
  done
  all=$seen
done
for p in $k; do kill -s KILL -- "$p" 2>/dev/null; done
for p in $all; do kill -s KILL "$p" 2>/dev/null; done
`

let watchdog: ChildProcess | undefined

function started(): ChildProcess | undefined {
  if (watchdog?.stdin?.writable) return watchdog
  try {
    // Its own session: Ctrl-C or a kill of the CLI's process group does not reach it.
    watchdog = spawn('/bin/sh', ['-c', SCRIPT], {stdio: ['pipe', 'ignore', 'ignore'], detached: true})
  } catch {
    return undefined
  }
  watchdog.on('error', () => {
    watchdog = undefined
  })
  watchdog.stdin!.on('error', () => {})
  // Neither the process nor its pipe keeps the CLI alive; the CLI's exit closes the pipe.
  watchdog.unref()
  ;(watchdog.stdin as unknown as {unref?: () => void}).unref?.()
  return watchdog
}

/**
 * The gate a watched guest starts behind: `/bin/sh` waiting for one line on fd 3, which the CLI
 * writes once the watchdog holds the guest's registration, then exec'ing the guest. A guest runs
 * from its exec on, and the CLI wakes from its spawn later, under load milliseconds later: a guest
 * killing its CLI first thing outlived it unregistered (12 of 20 runs on a loaded machine). The
 * CLI's death before the line ends the gate (end of file). The guest's environment goes through
 * `env -i` as arguments: the shell itself would drop variables whose names are not shell names
 * and rewrite PWD.
 */
const GATE = 'read -r _ <&3 || exit 125; exec "$0" -i -- "$@" 3<&-'

let envProgram: string | null | undefined

/** `env`'s path, or null when the host has none (then guests start ungated). */
function envPath(): string | null {
  envProgram ??= ['/usr/bin/env', '/bin/env'].find((file) => existsSync(file)) ?? null
  return envProgram
}

/** What {@link spawnWatched} passes to `spawn`. */
export interface WatchedSpawn {
  env: Record<string, string>
  cwd?: string
  stdio: Array<'inherit' | 'pipe'>
  /** The guest leads a process group of its own (killed as a group). */
  group: boolean
}

/**
 * Spawns a path-mapped guest registered with the watchdog before it runs (behind the gate above),
 * and unregistered once it has closed. Without a watchdog, `env`, or with a program path or
 * variable name the `env -i` argument list cannot carry (a relative path, `=`, an empty name),
 * the guest starts at once and is registered right after its spawn.
 *
 * @throws the `access`/`execve` error (ENOENT, EACCES) of a program that cannot start: the gate's
 * shell starts whatever the program is, so its errors are found before.
 */
export function spawnWatched(file: string, args: string[], options: WatchedSpawn): ChildProcess {
  const dog = started()
  const env = envPath()
  const names = Object.keys(options.env)
  const spawnOptions = {cwd: options.cwd, detached: options.group}
  const carried =
    isAbsolute(file) && !file.includes('=') && names.every((name) => name !== '' && !name.includes('='))
  if (!dog || !env || !carried) {
    const child = spawn(file, args, {...spawnOptions, env: options.env, stdio: options.stdio})
    if (child.pid !== undefined) child.once('close', watchGuest(dog, child.pid, options.group))
    return child
  }
  accessSync(file, constants.X_OK)
  if (!statSync(file).isFile())
    throw Object.assign(new Error(`EACCES: not a file, execve '${file}'`), {
      code: 'EACCES',
      syscall: 'execve',
    })
  const pairs = Object.entries(options.env).map(([name, value]) => `${name}=${value}`)
  const child = spawn('/bin/sh', ['-c', GATE, env, ...pairs, file, ...args], {
    ...spawnOptions,
    env: {},
    stdio: [...options.stdio, 'pipe'],
  })
  const gate = child.stdio[3] as Writable
  gate.on('error', () => {})
  if (child.pid === undefined) {
    gate.destroy()
    return child
  }
  child.once(
    'close',
    watchGuest(dog, child.pid, options.group, () => gate.end('\n', () => gate.destroy())),
  )
  return child
}

/**
 * Registers a path-mapped guest with the watchdog `dog` (none: the guest is unwatched): its
 * process group (`group`) or, when it shares the CLI's group, its pid; `registered` is called
 * once the registration is in the watchdog's pipe. Returns the call that unregisters it once it
 * has exited.
 */
function watchGuest(
  dog: ChildProcess | undefined,
  pid: number,
  group: boolean,
  registered?: () => void,
): () => void {
  const target = group ? `-${pid}` : `${pid}`
  dog?.stdin!.write(`+${target}\n`, () => registered?.())
  return () => {
    if (dog?.stdin?.writable) dog.stdin.write(`-${target}\n`)
  }
}
