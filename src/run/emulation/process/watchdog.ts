/**
 * The watchdog of path-mapped guests. Inside bubblewrap a guest dies with the CLI
 * (`--die-with-parent` and its pid namespace); path-mapped there is neither, and Node.js cannot
 * reach PR_SET_PDEATHSIG (which would cover only the direct child anyway, not the WASM commands
 * a guest runs through the WASI runner). So each path-mapped guest gets its own process group,
 * registered with one small `/bin/sh` per CLI process that reads the registrations from a pipe:
 * the pipe's end of file means the CLI is gone (a SIGKILL included: the kernel closes its fds),
 * and the watchdog then SIGKILLs every group still registered, taking the guest's whole tree.
 */
import {type ChildProcess, spawn} from 'node:child_process'

/**
 * Lines `+<target>` register and `-<target>` unregister a kill target: `-<pgid>` for a process
 * group (with the leader's own pid too, in case the CLI died before the child's setsid), or a
 * pid. Signals meant for the CLI's terminal group are ignored: only the pipe's end counts.
 */
const SCRIPT = `trap '' INT TERM HUP QUIT TSTP
k=
while read -r l; do
  case $l in
    +*) k="$k \${l#+}" ;;
    -*) n=; for p in $k; do [ "$p" = "\${l#-}" ] || n="$n $p"; done; k=$n ;;
  esac
done
for p in $k; do kill -s KILL -- "$p" "\${p#-}" 2>/dev/null; done
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
