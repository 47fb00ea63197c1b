// The conformance suite as data: each case names fixture packages (test/conformance/fixtures), what
// to run in the VM, and what of the result is compared. recorded-0.2.21.json holds what the real
// agentOS runtime answered (record.mjs writes it); emulation.test.ts holds `run` to those answers
// without the runtime, runtime.test.ts re-asks the runtime when one is installed, and
// DIVERGENCES.md is generated from the cases marked with a warning.

/** The agentOS runtime the recorded results come from. */
export const RUNTIME_VERSION = '0.2.21'

/**
 * A package of a case: a fixture directory by name, a meta-package (one software entry that is
 * an array of packages: a nested array in the runtime, a software module for `run`), or a
 * fixture assembled into an `.aospkg` archive.
 */
export type PackageRef = string | {meta: string[]} | {aospkg: string}

/** What runs in the VM. */
export type CaseRun =
  /** A command line for the VM's shell (`vm.exec`; `run … -- sh -c <line>`). */
  | {shell: string}
  /** An argv, with no shell (`vm.execArgv`; `run … -- <argv>`). */
  | {argv: string[]}
  /** An ACP session: open, agent info, capabilities, one prompt (`run … --agent --prompt`). */
  | {agent: string; prompt: string}

/** A result as both engines report it, reduced to what cases compare. */
export interface CaseResult {
  /** The VM was not created: the runtime threw, `run` exited 125. The runtime's message. */
  refused?: string
  exitCode?: number
  stdout?: string
  stderr?: string
  agent?: {
    name?: string
    version?: string
    protocolVersion?: number
    loadSession?: boolean
    sessionCwd?: string
    reply?: string
  }
}

/** Fields of {@link CaseResult} a case compares. */
export type Field = keyof CaseResult

/** How the emulation stands on a case. */
export type EmulationVerdict =
  /** `run` gives the runtime's result (after the case's normalizer). */
  | 'agrees'
  /** `run` gives another result and says so with this warning, on stderr and in `--json`. */
  | {warn: `WARN_AGENTOS_RUNTIME_${string}`; why: string}

/** One conformance case. */
export interface ConformanceCase {
  /** Stable, kebab-case: the key of the recorded result. */
  id: string
  title: string
  /** What the issue groups it under. */
  area:
    | 'wasm'
    | 'node'
    | 'shell'
    | 'path'
    | 'layout'
    | 'cwd-env'
    | 'provides-env'
    | 'provides-files'
    | 'meta-collision'
    | 'manifest'
    | 'exit-signal'
    | 'agent'
  packages: PackageRef[]
  run: CaseRun
  /** User environment (`vm.exec(…, {env})`; `run -e`). */
  env?: Record<string, string>
  compare: Field[]
  /**
   * Applied to both results before comparing: reduces what legitimately differs (the shell's own
   * wording of an error, stack frames) and nothing the case is about.
   */
  normalize?: (result: CaseResult) => CaseResult
  emulation: EmulationVerdict
  /** What the emulation did before it was changed to agree (for the divergence table). */
  before?: string
  /**
   * The guest is a script (sh, Node.js, an agent) whose answer shows VM paths: the emulation gives
   * them only in its bubblewrap namespace (path-mapped mode rewrites them, and says so on stderr),
   * so without bubblewrap the case is skipped with that reason.
   */
  needsNamespace?: boolean
}

/** Strips ANSI colour (the runtime's shell colours its `error:` prefix). */
const plain = (text = '') => text.replace(/\x1b\[[0-9;]*m/g, '')

/** The first `SomethingError: message` line: stack frames and source excerpts differ by design. */
const firstErrorLine = (result: CaseResult): CaseResult => ({
  ...result,
  stderr: /^\w*Error: .*$/m.exec(plain(result.stderr))?.[0] ?? plain(result.stderr),
})

/** Variables a shell sets for itself (dash and the runtime's shell differ); not the VM's. */
const withoutShellVars = (result: CaseResult): CaseResult => ({
  ...result,
  stdout: result.stdout
    ?.split('\n')
    .filter((line) => !/^(OLDPWD|SHLVL|_)=/.test(line))
    .join('\n'),
})

/** A refused write: EACCES in the runtime, EROFS from a read-only bind; both mean "read-only". */
const writeRefused = (result: CaseResult): CaseResult => ({
  ...result,
  stdout: result.stdout?.replace(/: (EACCES|EROFS|EPERM)$/m, ': <refused>'),
})

/** The first line of stdout (the runtime's shell prints its version and a long builtin list). */
const firstLine = (result: CaseResult): CaseResult => ({...result, stdout: result.stdout?.split('\n')[0]})

const shell = (line: string) => ({shell: line})
const argv = (...words: string[]) => ({argv: words})

/** The cases. Order is the order of the divergence table. */
export const CASES: readonly ConformanceCase[] = [
  // --- WebAssembly
  {
    id: 'wasm-echo-argv',
    title: 'a WASM command gets its argv',
    area: 'wasm',
    packages: ['wasm-tools'],
    run: argv('wecho', 'hello', 'agent OS'),
    compare: ['exitCode', 'stdout', 'stderr'],
    emulation: 'agrees',
  },
  {
    id: 'wasm-exit-code',
    title: "a WASM command's proc_exit status is the exit code",
    area: 'wasm',
    packages: ['wasm-tools'],
    run: argv('wexit', '42'),
    compare: ['exitCode', 'stdout', 'stderr'],
    emulation: 'agrees',
  },
  {
    id: 'wasm-env-base',
    title: 'a WASM command sees the base environment, sorted, with PWD',
    area: 'cwd-env',
    packages: ['wasm-tools'],
    run: argv('wenv'),
    compare: ['exitCode', 'stdout'],
    before:
      'PATH=/usr/local/sbin:/usr/local/bin:/opt/agentos/bin:\u2026, HOME, USER, SHELL, LANG only, no PWD, unsorted',
    emulation: 'agrees',
  },
  {
    id: 'wasm-env-provides',
    title: 'provides.env joins the environment a WASM command sees',
    area: 'provides-env',
    packages: ['wasm-tools', 'provides-tool'],
    run: argv('wenv'),
    compare: ['exitCode', 'stdout'],
    before: 'base env of five variables, provides.env after it, unsorted',
    emulation: 'agrees',
  },
  {
    id: 'wasm-stdin-pipe',
    title: 'a WASM command reads a pipe on stdin',
    area: 'wasm',
    packages: ['wasm-tools'],
    run: shell('printf "line1\\nline2\\n" | wcat'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'aospkg-wasm',
    title: 'an .aospkg archive mounts and its command runs',
    area: 'wasm',
    packages: [{aospkg: 'wasm-tools'}],
    run: argv('wecho', 'from-aospkg'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  // --- Node.js
  {
    id: 'node-argv',
    title: 'a #!/usr/bin/env node command gets its argv',
    area: 'node',
    packages: ['node-tool'],
    run: argv('ntool', 'argv', 'a b', 'c'),
    compare: ['exitCode', 'stdout', 'stderr'],
    emulation: 'agrees',
  },
  {
    id: 'node-where',
    title: 'a Node.js command starts in /workspace, HOME=/home/agentos, argv[1] the versioned entry',
    area: 'cwd-env',
    packages: ['node-tool'],
    run: argv('ntool', 'where'),
    compare: ['exitCode', 'stdout'],
    before: 'cwd=/home/agentos, argv[1]=/opt/agentos/bin/ntool',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'node-exit-code',
    title: "process.exit(7) is the command's exit code",
    area: 'exit-signal',
    packages: ['node-tool'],
    run: argv('ntool', 'exit', '7'),
    compare: ['exitCode', 'stdout', 'stderr'],
    emulation: 'agrees',
  },
  {
    id: 'node-uncaught',
    title: 'an uncaught exception exits 1 with the error on stderr',
    area: 'exit-signal',
    packages: ['node-tool'],
    run: argv('ntool', 'throw'),
    compare: ['exitCode', 'stdout', 'stderr'],
    normalize: firstErrorLine,
    emulation: 'agrees',
  },
  {
    id: 'node-stdin-pipe',
    title: 'a Node.js command reads a pipe on stdin',
    area: 'node',
    packages: ['node-tool'],
    run: shell('echo hi | ntool stdin'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'node-spawn-wasm-path',
    title: 'a Node.js command spawns a WASM command by its /opt/agentos/bin path',
    area: 'node',
    packages: ['wasm-tools', 'node-tool'],
    run: argv('ntool', 'spawn', '/opt/agentos/bin/wecho', 'spawned'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  {
    id: 'node-spawn-by-name',
    title: 'a Node.js command spawns another command by name, found on $PATH',
    area: 'path',
    packages: ['wasm-tools', 'node-tool'],
    run: argv('ntool', 'spawn', 'wecho', 'by-name'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  {
    id: 'node-version',
    title: "the VM's node reports v22.0.0",
    area: 'node',
    packages: ['node-tool'],
    run: argv('node', '--version'),
    compare: ['exitCode', 'stdout'],
    before: "the host's version, silently",
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_NODE_VERSION',
      why: "The runtime's node is its own V8 runtime reporting v22.0.0; the emulation runs the host's Node.js.",
    },
  },
  // --- shell
  {
    id: 'shell-script-bin-sh',
    title: 'a #!/bin/sh package command is run as JavaScript (SyntaxError, exit 1)',
    area: 'shell',
    packages: ['sh-tools'],
    run: argv('sh-bin', 'x'),
    compare: ['exitCode', 'stdout', 'stderr'],
    normalize: firstErrorLine,
    before: 'ran the script in the host shell, silently',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_SHELL_SCRIPT',
      why: 'A limitation of the runtime, not a design: the emulation runs the script in the shell its #! names, and says the runtime would not.',
    },
  },
  {
    id: 'shell-script-env-sh',
    title: 'a #!/usr/bin/env sh package command is run as JavaScript',
    area: 'shell',
    packages: ['sh-tools'],
    run: argv('sh-env', 'x'),
    compare: ['exitCode', 'stdout', 'stderr'],
    normalize: firstErrorLine,
    before: 'ran the script in the host shell, silently',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_SHELL_SCRIPT',
      why: 'As shell-script-bin-sh.',
    },
  },
  {
    id: 'shell-script-bash',
    title: 'a #!/bin/bash package command is run as JavaScript',
    area: 'shell',
    packages: ['sh-tools'],
    run: argv('sh-bash', 'x'),
    compare: ['exitCode', 'stdout', 'stderr'],
    normalize: firstErrorLine,
    before: 'ran the script in the host shell, silently',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_SHELL_SCRIPT',
      why: 'As shell-script-bin-sh.',
    },
  },
  {
    id: 'shell-script-via-sh',
    title: '`sh /opt/agentos/bin/<cmd>` runs a shell-script command',
    area: 'shell',
    packages: ['sh-tools'],
    run: shell('sh /opt/agentos/bin/sh-bin y'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'shell-exit',
    title: "the shell's exit status is the exit code",
    area: 'exit-signal',
    packages: ['node-tool'],
    run: shell('exit 42'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  // --- $PATH and resolution
  {
    id: 'path-value',
    title: '$PATH puts /opt/agentos/bin first',
    area: 'path',
    packages: ['node-tool'],
    run: shell('echo $PATH'),
    compare: ['exitCode', 'stdout'],
    before: '/usr/local/sbin:/usr/local/bin:/opt/agentos/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'path-command-v',
    title: 'a package command resolves to /opt/agentos/bin/<cmd>',
    area: 'path',
    packages: ['node-tool'],
    run: shell('command -v ntool'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'path-not-found-shell',
    title: 'an unknown command in a shell line exits 127',
    area: 'path',
    packages: ['node-tool'],
    run: shell('nosuchcmd'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'path-not-found-argv',
    title: 'an unknown command as an argv: the runtime exits 1 (the sidecar rejects the request)',
    area: 'path',
    packages: ['node-tool'],
    run: argv('nosuchcmd'),
    compare: ['exitCode', 'stdout'],
    before: 'exit 127, silently',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_NOT_FOUND_EXIT',
      why: 'run keeps 127 for "not found" (as shells and env do) so a script can tell it from the command\'s own failure; the runtime\'s execArgv reports exit 1.',
    },
  },
  // --- layout under /opt/agentos
  {
    id: 'path-builtin-name-argv',
    title:
      'a package command named like a builtin of the VM shell (help), run as an argv: the package command',
    area: 'path',
    packages: ['builtin-help'],
    run: argv('help'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  {
    id: 'path-builtin-name-word',
    title: 'the same as a shell line of that one word: the runtime runs it as an argv too',
    area: 'path',
    packages: ['builtin-help'],
    run: shell('help'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  {
    id: 'path-builtin-name-shell',
    title: 'the same in a shell line: the shell runs its builtin',
    area: 'path',
    packages: ['builtin-help'],
    run: shell('help </dev/null'),
    compare: ['exitCode', 'stdout'],
    normalize: firstLine,
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_SHELL_BUILTIN',
      why: "The emulation's shell is the host's, which has no help builtin, so the package's command runs; the runtime's shell (brush) answers `command -v help` with the builtin and runs it.",
    },
  },
  {
    id: 'path-entry-missing',
    title: 'a command whose entry file is missing: the runtime runs the /bin stub (exit 0, no output)',
    area: 'path',
    packages: ['entry-missing'],
    run: argv('gone'),
    compare: ['exitCode', 'stdout'],
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_ENTRY_MISSING',
      why: "run refuses it (ERR_AGENTOS_RUN_ENTRY_MISSING, exit 127) rather than report a silent success; the runtime links the command to the missing file and its shell falls through to the kernel's /bin/<name> stub.",
    },
  },
  {
    id: 'layout-opt-agentos',
    title: '/opt/agentos holds bin and pkgs only',
    area: 'layout',
    packages: ['node-tool'],
    run: shell('ls /opt/agentos'),
    compare: ['exitCode', 'stdout'],
    before: 'bin, node-tool',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'layout-versioned',
    title: 'a package lives at /opt/agentos/pkgs/<name>/<version>, with current → <version>',
    area: 'layout',
    packages: ['node-tool'],
    run: shell('ls /opt/agentos/pkgs/node-tool; readlink /opt/agentos/pkgs/node-tool/current'),
    compare: ['exitCode', 'stdout'],
    before: 'no /opt/agentos/pkgs (exit 2)',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'layout-package-files',
    title: 'the package directory is mounted as it is',
    area: 'layout',
    packages: ['node-tool'],
    run: shell('ls /opt/agentos/pkgs/node-tool/current /opt/agentos/pkgs/node-tool/2.0.1/bin'),
    compare: ['exitCode', 'stdout'],
    before: 'no /opt/agentos/pkgs (exit 2)',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'layout-no-name-mount',
    title: 'there is no /opt/agentos/<name>',
    area: 'layout',
    packages: ['node-tool'],
    run: shell('test -e /opt/agentos/node-tool; echo $?'),
    compare: ['exitCode', 'stdout'],
    before: '0: the package was at /opt/agentos/node-tool',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'layout-link-target',
    title: 'a command link points through current',
    area: 'layout',
    packages: ['node-tool'],
    run: shell('readlink /opt/agentos/bin/ntool'),
    compare: ['exitCode', 'stdout'],
    before: '../node-tool/bin/ntool.js',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'layout-package-read-only',
    title: 'a guest cannot write into a package',
    area: 'layout',
    packages: ['node-tool'],
    run: argv('ntool', 'write', '/opt/agentos/pkgs/node-tool/current/new', 'x'),
    compare: ['exitCode', 'stdout'],
    normalize: writeRefused,
    emulation: 'agrees',
    needsNamespace: true,
  },
  // --- cwd and base env
  {
    id: 'cwd-start',
    title: 'a shell starts in /workspace',
    area: 'cwd-env',
    packages: ['node-tool'],
    run: shell('pwd'),
    compare: ['exitCode', 'stdout'],
    before: '/home/agentos',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'cwd-workspace-writable',
    title: '/workspace is writable',
    area: 'cwd-env',
    packages: ['node-tool'],
    run: argv('ntool', 'write', '/workspace/f.txt', 'ws'),
    compare: ['exitCode', 'stdout'],
    before: 'ENOENT: no /workspace',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'cwd-home-writable',
    title: '/home/agentos is writable',
    area: 'cwd-env',
    packages: ['node-tool'],
    run: argv('ntool', 'write', '/home/agentos/h.txt', 'home'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'env-shell',
    title: "a shell's environment is the base environment",
    area: 'cwd-env',
    packages: ['node-tool'],
    run: shell('env | sort'),
    compare: ['exitCode', 'stdout'],
    normalize: withoutShellVars,
    before: 'five base variables',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'env-user-scrubbed-names',
    title: 'user env names the emulation scrubs (*PRELOAD, LD_*, NODE_OPTIONS) reach the guest',
    area: 'cwd-env',
    packages: ['node-tool'],
    env: {MY_PRELOAD: 'x'},
    run: argv('ntool', 'env', 'MY_PRELOAD'),
    compare: ['exitCode', 'stdout'],
    before: 'scrubbed with a note claiming the runtime scrubs it too',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_ENV_SCRUBBED',
      why: "Guests of the emulation are host processes, where these variables would load code into the host's loader or Node.js; the runtime passes them through.",
    },
  },
  // --- provides.env
  {
    id: 'provides-env-precedence',
    title: 'provides.env: the first package wins, the base env wins over every package',
    area: 'provides-env',
    packages: ['provides-tool', 'provides-other', 'node-tool'],
    run: argv('ntool', 'env', 'SHARED', 'OTHER_ONLY', 'PTOOL_HOME', 'HOME', 'PATH'),
    compare: ['exitCode', 'stdout'],
    before: 'agreed (PATH order aside)',
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'provides-env-user-wins',
    title: 'user env wins over provides.env and the base env',
    area: 'provides-env',
    packages: ['provides-tool', 'node-tool'],
    env: {SHARED: 'user', HOME: '/u'},
    run: argv('ntool', 'env', 'SHARED', 'HOME', 'PTOOL_HOME'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  // --- provides.files
  {
    id: 'provides-file-source',
    title: 'provides.files with a file source: the target is absent',
    area: 'provides-files',
    packages: ['provides-tool', 'node-tool'],
    run: argv('ntool', 'read', '/etc/ptool.conf'),
    compare: ['exitCode', 'stdout'],
    before: 'showed the file, silently',
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_PROVIDES_FILE_SOURCE',
      why: 'A limitation of the runtime (the spec overlays files too): the emulation shows the file and says the runtime would not.',
    },
  },
  {
    id: 'provides-dir-source',
    title: 'provides.files with a directory source: the files are at the target',
    area: 'provides-files',
    packages: ['provides-tool', 'node-tool'],
    run: argv('ntool', 'read', '/usr/share/ptool/one.txt'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
    needsNamespace: true,
  },
  {
    id: 'provides-dir-guest-write',
    title: 'a guest write to a provides.files directory target is refused (the spec says copy-up)',
    area: 'provides-files',
    packages: ['provides-tool', 'node-tool'],
    run: argv('ntool', 'write', '/usr/share/ptool/one.txt', 'changed'),
    compare: ['exitCode', 'stdout'],
    normalize: writeRefused,
    before: 'the write succeeded (a writable copy)',
    emulation: 'agrees',
    needsNamespace: true,
  },
  // --- meta-packages and collisions
  {
    id: 'meta-package',
    title: 'a meta-package mounts each of its packages, in order',
    area: 'meta-collision',
    packages: [{meta: ['provides-tool', 'provides-other']}, 'node-tool'],
    run: argv('ntool', 'env', 'SHARED', 'OTHER_ONLY'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  {
    id: 'collision-packages',
    title: 'two packages linking the same command: the VM is refused',
    area: 'meta-collision',
    packages: ['collide-a', 'collide-b'],
    run: argv('same'),
    compare: ['refused'],
    emulation: 'agrees',
  },
  {
    id: 'collision-default-software',
    title: 'a package command named like a default-software command (cat): the VM is refused',
    area: 'meta-collision',
    packages: ['shadow-cat'],
    run: argv('cat'),
    compare: ['refused'],
    before: "ran the package's cat, silently",
    emulation: {
      warn: 'WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND',
      why: "The emulation has no default software (its system commands are the host's), so the name is free; a runtime VM made without defaultSoftware: false refuses it.",
    },
  },
  // --- manifests
  {
    id: 'manifest-missing',
    title: 'a package directory without agentos-package.json is refused',
    area: 'manifest',
    packages: ['no-manifest'],
    run: argv('nm'),
    compare: ['refused'],
    before: 'mounted, named after package.json',
    emulation: 'agrees',
  },
  {
    id: 'manifest-bad-json',
    title: 'an agentos-package.json that is not JSON is refused',
    area: 'manifest',
    packages: ['bad-json'],
    run: argv('nm'),
    compare: ['refused'],
    emulation: 'agrees',
  },
  {
    id: 'manifest-no-version',
    title: 'an agentos-package.json without "version" is refused',
    area: 'manifest',
    packages: ['no-version'],
    run: argv('nm'),
    compare: ['refused'],
    before: 'mounted, version from package.json',
    emulation: 'agrees',
  },
  {
    id: 'manifest-no-name',
    title: 'an agentos-package.json without "name" is refused',
    area: 'manifest',
    packages: ['no-name'],
    run: argv('nm'),
    compare: ['refused'],
    emulation: 'agrees',
  },
  // --- signals
  {
    id: 'signal-self',
    title: 'a command killed by SIGTERM exits 143 (128 + 15)',
    area: 'exit-signal',
    packages: ['node-tool'],
    run: argv('ntool', 'signal', 'SIGTERM'),
    compare: ['exitCode', 'stdout'],
    emulation: 'agrees',
  },
  // --- agents
  {
    id: 'agent-session',
    title: 'an ACP agent: initialize, session/new in /home/agentos, one prompt with agent.env',
    area: 'agent',
    packages: ['agent'],
    run: {agent: 'conf-agent', prompt: 'hi'},
    compare: ['agent'],
    emulation: 'agrees',
    needsNamespace: true,
  },
]

/** The recorded results of one runtime version, by case id (recorded-<version>.json). */
export interface Recording {
  runtime: string
  results: Record<string, CaseResult>
}

/** The compared fields of a result, normalized as the case says. */
export function comparable(testCase: ConformanceCase, result: CaseResult): Partial<CaseResult> {
  const normalized = testCase.normalize ? testCase.normalize(result) : result
  const out: Partial<CaseResult> = {}
  for (const field of testCase.compare) {
    // A refusal compares as "refused or not": the two engines word it differently.
    if (field === 'refused') out.refused = normalized.refused === undefined ? undefined : 'refused'
    else (out as Record<string, unknown>)[field] = normalized[field]
  }
  return out
}
