import {ENGINE_NAMES, type EngineName} from '../../run/engine.js'
import type {IsolationChoice} from '../../run/emulation/process/sandbox.js'
import {RUN_DEFAULTS, type RunInput} from '../invoke/run.js'
import type {FlagTable, FlagValues} from './table.js'

/** The longest delay a Node.js timer takes: a longer one fires at once (after 1 ms). */
const MAX_MS = 2_147_483_647

/**
 * The flags of `run`, for oclif (commands/run.ts) and the fast path (cli/fast/run.ts), which
 * answers a command run with the `fast` ones and hands everything else (--which, --agent, the
 * real engine…) to oclif.
 */
export const RUN_FLAGS = {
  env: {
    type: 'string',
    char: 'e',
    multiple: true,
    fast: true,
    description: 'set a guest variable (NAME=value); always wins',
  },
  which: {
    type: 'string',
    description: 'print how a command resolves (PATH walk, package, entry, header, interpreter); run nothing',
  },
  agent: {
    type: 'string',
    description: 'ACP smoke test of the agent (bare --agent: the only agent among the packages)',
  },
  prompt: {type: 'string', description: 'with --agent: send one session/prompt and stream the updates'},
  cwd: {
    type: 'string',
    fast: true,
    description: 'guest working directory (default: /workspace, as in the runtime; an agent: /home/agentos)',
  },
  isolation: {
    type: 'string',
    options: ['auto', 'bwrap', 'path-mapped'],
    default: RUN_DEFAULTS.isolation,
    fast: true,
    description:
      'bwrap: mount namespace (required); path-mapped: rewrite VM paths; auto: bwrap when it works',
  },
  timeout: {
    type: 'integer',
    min: 0,
    max: MAX_MS,
    fast: true,
    description: 'stop the command after this many ms (exit 124); 0: none',
  },
  'init-timeout': {
    type: 'integer',
    min: 1,
    max: MAX_MS,
    default: RUN_DEFAULTS.initTimeout,
    description: 'ms to wait for the initialize answer',
  },
  'session-timeout': {
    type: 'integer',
    min: 1,
    max: MAX_MS,
    default: RUN_DEFAULTS.sessionTimeout,
    description: 'ms to wait for the session/new answer',
  },
  'prompt-timeout': {
    type: 'integer',
    min: 0,
    max: MAX_MS,
    default: RUN_DEFAULTS.promptTimeout,
    description: 'ms to wait for the prompt to end; 0: none',
  },
  'kill-after': {
    type: 'integer',
    min: 0,
    max: MAX_MS,
    default: RUN_DEFAULTS.killAfter,
    fast: true,
    description: 'ms between SIGTERM and SIGKILL when stopping a guest',
  },
  node: {
    type: 'string',
    fast: true,
    description:
      'Node.js that runs Node guests: a path, or a name on PATH (default: the one running this CLI; the single binary: node on PATH)',
  },
  'keep-root': {
    type: 'boolean',
    fast: true,
    description: "keep the per-run VM root (the guest's / and copy-up layer) for inspection",
  },
  engine: {
    type: 'string',
    options: ENGINE_NAMES,
    default: 'emulation',
    description:
      "emulation: this CLI's model of the VM (fast, nothing to install, known divergences); agentos: the real agentOS runtime (@rivet-dev/agentos-core), the answer to trust",
  },
  runtime: {
    type: 'string',
    description:
      "with --engine agentos: the runtime to use (an npm prefix holding @rivet-dev/agentos-core, or the package); default: $AGENTOS_TOOLCHAIN_RUNTIME, the project's, then the cache",
  },
  verbose: {
    type: 'boolean',
    description: "with --engine agentos: show the runtime's own log lines on stderr",
  },
} as const satisfies FlagTable

/** What `run` is asked to do, from its packages, the argv after `--`, and its parsed flags. */
export function runInput(
  packages: string[],
  guest: {command?: string; args: string[]},
  flags: FlagValues,
  json: boolean,
): RunInput {
  return {
    packages,
    command: guest.command,
    args: guest.args,
    env: (flags.env as string[] | undefined) ?? [],
    which: flags.which as string | undefined,
    agent: flags.agent as string | undefined,
    prompt: flags.prompt as string | undefined,
    // Undefined: the VM picks it (/workspace for a command, /home/agentos for an agent).
    cwd: flags.cwd as string | undefined,
    isolation: flags.isolation as IsolationChoice,
    timeout: (flags.timeout as number | undefined) || undefined,
    initTimeout: flags['init-timeout'] as number,
    sessionTimeout: flags['session-timeout'] as number,
    promptTimeout: flags['prompt-timeout'] as number,
    killAfter: flags['kill-after'] as number,
    keepRoot: flags['keep-root'] === true,
    node: flags.node as string | undefined,
    engine: flags.engine as EngineName,
    runtime: flags.runtime as string | undefined,
    verbose: flags.verbose === true,
    json,
  }
}
