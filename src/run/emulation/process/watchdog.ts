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

/**
 * Lines `+<target>` register and `-<target>` unregister a kill target: `-<pgid>` for a guest
 * leading its own process group, or the pid of a guest in the CLI's group. Signals meant for the
 * CLI's terminal group are ignored: only the pipe's end counts. At the end the groups are
 * stopped, three rounds of walking /proc/<pid>/task/<tid>/children stop the trees (a process
 * forking while one round reads its children is found by the next), then all are SIGKILLed.
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
    todo="$todo $(cat /proc/$p/task/*/children 2>/dev/null)"
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
 * Registers a path-mapped guest: its process group (`group`) or, when it shares the CLI's group,
 * its pid. Returns the call that unregisters it once it has exited.
 */
export function watchGuest(pid: number, group: boolean): () => void {
  const target = group ? `-${pid}` : `${pid}`
  const dog = started()
  dog?.stdin!.write(`+${target}\n`)
  return () => {
    if (dog?.stdin?.writable) dog.stdin.write(`-${target}\n`)
  }
}
