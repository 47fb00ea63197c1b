/**
 * The bad-input corpus: one row per hostile input, across validate, inspect, pack, assemble-wasm
 * and run. Each row builds its input in a fresh directory and names the CLI arguments (the
 * runner adds --json for the first run, before a `--`), the exit code and the code that must be
 * reported: the `error.code` of a refusal, a code in its `details`, or a problem code of a report.
 *
 * Everything writes inside the case directory; the runner checks that nothing in it changed.
 */
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {
  craftTar,
  tarHeader,
  hugePackageJson,
  link,
  mknod,
  nestedArrays,
  nestedPackageJson,
  packageDir,
  project,
  projectWithManifest,
  put,
  tarball,
  validPackageMembers,
  wasmFile,
  wasmProject,
} from './build.js'
import {ADVERSARIAL_CASES} from './cases-adversarial.js'
import {BOUNDED_CASES} from './cases-bounded.js'
import {SPECIAL_CASES} from './cases-special.js'

/** What a case's builder returns: the CLI arguments, or why the case cannot run here. */
export type Built = string[] | {skip: string}

export interface BadInputCase {
  /** `<command>/<slug>`, unique. */
  id: string
  description: string
  build(dir: string): Promise<Built>
  exit: number
  /** Must be among the reported codes (error.code, error.details[].code, problems[].code). */
  code: string
  /** When the input is refused with a thrown error: its `error.code` (when `code` is a detail). */
  errorCode?: string
  /** Run as an unprivileged process (permission cases: root reads everything). */
  unprivileged?: boolean
  /** Also run as a real process, so the real binary's stderr is checked too. */
  process?: boolean
}

const MB = 1024 * 1024
const LONG = 'a'.repeat(5000)
const out = (dir: string) => join(dir, 'out')
/** The usual assemble-wasm flags (each may be given once), with some replaced. */
const wasmArgs = (dir: string, flags: {out?: string; name?: string; version?: string} = {}) => [
  '--name',
  flags.name ?? 'x',
  '--version',
  flags.version ?? '1.0.0',
  '--project',
  dir,
  '--out',
  flags.out ?? out(dir),
]
const manifestWith = (extra: Record<string, unknown>) => ({name: 't', version: '1.0.0', ...extra})
const providing = (...targets: string[]) =>
  manifestWith({provides: {files: targets.map((target) => ({source: 'etc/app.conf', target}))}})
const withConf = {'etc/app.conf': 'x=1\n'}
const base = validPackageMembers()

/** A pack source with a manifest; the failure is a detail of ERR_AGENTOS_PACK_MANIFEST_INVALID. */
function packManifest(id: string, description: string, manifest: unknown, code: string): BadInputCase {
  return {
    id: `pack/${id}`,
    description,
    build: async (dir) => [
      'pack',
      await projectWithManifest(dir, manifest as Record<string, unknown>),
      '--out',
      out(dir),
    ],
    exit: 1,
    code,
    errorCode: 'ERR_AGENTOS_PACK_MANIFEST_INVALID',
  }
}

/** A pack source whose package.json bin is `bin`. */
function packBin(id: string, description: string, bin: unknown, code: string, detail?: string): BadInputCase {
  return {
    id: `pack/${id}`,
    description,
    build: async (dir) => ['pack', await project(dir, (pkg) => (pkg.bin = bin)), '--out', out(dir)],
    exit: 1,
    code: detail ?? code,
    errorCode: code,
  }
}

/** A tarball holding the valid package plus `members`, validated. */
function validateTar(id: string, description: string, members: Parameters<typeof tarball>[2], code: string) {
  return {
    id: `validate/${id}`,
    description,
    build: async (dir: string) => ['validate', await tarball(dir, 'p.tgz', [...base, ...members])],
    exit: 1,
    code,
  }
}

const tarSymlinkOut = {name: 'package/lib', type: '2', linkname: '/etc'} as const
const tarHardlinkOut = {name: 'package/pw', type: '1', linkname: '/etc/passwd'} as const
const truncatedTar = (dir: string) => put(dir, 'cut.tar', craftTar(base).subarray(0, 700))

export const CASES: BadInputCase[] = [
  // ── validate: JSON ───────────────────────────────────────────────────────────────────────────
  {
    id: 'validate/manifest-nested-100k',
    description: 'agentos-package.json nested 100 000 arrays deep (once a RangeError crash)',
    build: async (dir) => ['validate', await packageDir(dir, {manifest: nestedArrays(100_000)})],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_TOO_DEEP',
    process: true,
  },
  {
    id: 'validate/package-json-nested-100k',
    description: 'package.json nested 100 000 objects deep',
    build: async (dir) => ['validate', await packageDir(dir, {packageJson: nestedPackageJson(100_000)})],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_TOO_DEEP',
  },
  {
    id: 'validate/manifest-nested-128',
    description: 'the manifest one level deeper than serde_json reads (128 levels)',
    build: async (dir) => ['validate', await packageDir(dir, {manifest: nestedArrays(127)})],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_TOO_DEEP',
  },
  {
    id: 'validate/package-json-50mb',
    description: 'a 50 MB package.json (once reported as "missing")',
    build: async (dir) => ['validate', await packageDir(dir, {packageJson: hugePackageJson(50 * MB)})],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_TOO_LARGE',
  },
  {
    id: 'validate/manifest-binary',
    description: 'agentos-package.json holding binary bytes and invalid UTF-8',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {manifest: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x7d])}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_SYNTAX',
  },
  {
    id: 'validate/manifest-utf16',
    description: 'agentos-package.json saved as UTF-16 with its BOM',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {manifest: Buffer.from('\ufeff{"name":"t"}', 'utf16le')}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_SYNTAX',
  },
  {
    id: 'validate/manifest-empty-file',
    description: 'a zero-byte agentos-package.json',
    build: async (dir) => ['validate', await packageDir(dir, {manifest: ''})],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_SYNTAX',
  },
  {
    id: 'validate/package-json-duplicate-bin-strict',
    description: 'package.json with "bin" twice, under --strict',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {
        packageJson: '{"name":"t","version":"1.0.0","bin":{"t":"bin/t"},"bin":{"t":"bin/t"}}',
      }),
      '--strict',
    ],
    exit: 1,
    code: 'WARN_AGENTOS_JSON_DUPLICATE_KEY',
  },
  {
    id: 'validate/manifest-name-5000',
    description: 'a 5000-character package name (longer than a path segment may be)',
    build: async (dir) => ['validate', await packageDir(dir, {manifest: {name: LONG}})],
    exit: 1,
    code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE',
  },
  {
    id: 'validate/bin-name-5000',
    description: 'a 5000-character command name',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {packageJson: {name: 't', version: '1.0.0', bin: {[LONG]: 'bin/t'}}}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_BIN_NAME_INVALID',
  },
  {
    id: 'validate/bin-name-nul',
    description: 'a command name holding a NUL byte',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {packageJson: {name: 't', version: '1.0.0', bin: {'t\u0000x': 'bin/t'}}}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_BIN_NAME_INVALID',
  },
  {
    id: 'validate/bin-entry-nul',
    description: 'a bin entry path holding a NUL byte',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {packageJson: {name: 't', version: '1.0.0', bin: {t: 'bin/t\u0000.js'}}}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
  },
  {
    id: 'validate/symlink-self-loop',
    description: 'a symlink pointing at itself inside the package',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      await link(pkg, 'loop', 'loop')
      return ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SYMLINK',
  },
  {
    id: 'validate/symlink-dir-cycle',
    description: 'a directory symlink back to its parent (must not be walked forever)',
    build: async (dir) => {
      const pkg = await packageDir(dir, {files: {'lib/a.js': 'x'}})
      await link(pkg, 'lib/up', '..')
      return ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SYMLINK',
  },
  {
    id: 'validate/target-symlink-loop',
    description: 'the target itself is a symlink loop',
    build: async (dir) => ['validate', await link(dir, 'loop', 'loop')],
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_UNREADABLE',
  },
  {
    id: 'validate/fifo-in-package',
    description: 'a FIFO inside the package (must not be opened: that would block)',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      const error = mknod(join(pkg, 'fifo'), 'p')
      return error ? {skip: `cannot make a FIFO: ${error}`} : ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
  {
    id: 'validate/char-device-in-package',
    description: 'a character device (like /dev/null) inside the package',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      const error = mknod(join(pkg, 'null'), 'c', 1, 3)
      return error ? {skip: `cannot make a device node: ${error}`} : ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
  {
    id: 'validate/target-is-fifo',
    description: 'the target itself is a FIFO',
    build: async (dir) => {
      const error = mknod(join(dir, 'fifo'), 'p')
      return error ? {skip: `cannot make a FIFO: ${error}`} : ['validate', join(dir, 'fifo')]
    },
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_UNREADABLE',
  },
  {
    id: 'validate/target-name-5000',
    description: 'a target path whose last segment is 5000 characters',
    build: async (dir) => ['validate', join(dir, LONG)],
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_UNREADABLE',
  },
  {
    id: 'validate/unreadable-package-json',
    description: 'package.json without read permission (once also reported as "missing")',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      await chmod(join(pkg, 'package.json'), 0o000)
      return ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_READ_FAILED',
    unprivileged: true,
  },
  {
    id: 'validate/provides-target-proc',
    description: 'a provides.files target under /proc',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {manifest: providing('/proc/self/environ'), files: withConf}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  },
  {
    id: 'validate/provides-target-opt-agentos-bin',
    description: 'a provides.files target in /opt/agentos/bin, where the runtime links commands',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {manifest: providing('/opt/agentos/bin/ls'), files: withConf}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  },
  {
    id: 'validate/provides-target-root',
    description: 'a provides.files target of "/" (would cover the whole VM)',
    build: async (dir) => ['validate', await packageDir(dir, {manifest: providing('/'), files: withConf})],
    exit: 1,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  },
  {
    id: 'validate/provides-target-overlap',
    description: 'one provides.files target inside another',
    build: async (dir) => [
      'validate',
      await packageDir(dir, {manifest: providing('/etc/app', '/etc/app/app.conf'), files: withConf}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
  },
  {
    id: 'validate/command-zero-bytes',
    description: 'a command that is an empty file',
    build: async (dir) => ['validate', await packageDir(dir, {files: {'bin/t': ''}})],
    exit: 1,
    code: 'ERR_AGENTOS_BIN_UNKNOWN_HEADER',
  },
  // ── validate: tarballs (hand-made headers) ───────────────────────────────────────────────────
  validateTar(
    'tar-dotdot-member',
    'a tarball member package/../../evil',
    [{name: 'package/../../evil', body: 'x'}],
    'ERR_AGENTOS_TAR_PATH_ESCAPES',
  ),
  validateTar(
    'tar-absolute-member',
    'a tarball member /etc/evil',
    [{name: '/etc/evil', body: 'x'}],
    'ERR_AGENTOS_TAR_PATH_ESCAPES',
  ),
  {
    id: 'validate/tar-only-escaping-members',
    description: 'a tarball whose every member leaves the root (once "corrupt, no members")',
    build: async (dir) => [
      'validate',
      await tarball(dir, 'p.tgz', [
        {name: '../package.json', body: '{}'},
        {name: '/tmp/x', body: 'x'},
      ]),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_PATH_ESCAPES',
  },
  validateTar('tar-symlink-absolute', 'a tarball symlink to /etc', [tarSymlinkOut], 'ERR_AGENTOS_SYMLINK'),
  validateTar(
    'tar-symlink-dotdot',
    'a tarball symlink to ../../..',
    [{name: 'package/up', type: '2', linkname: '../../..'}],
    'ERR_AGENTOS_SYMLINK',
  ),
  validateTar(
    'tar-hardlink-absolute',
    'a tarball hard link to /etc/passwd',
    [tarHardlinkOut],
    'ERR_AGENTOS_SPECIAL_FILE',
  ),
  validateTar(
    'tar-hardlink-dotdot',
    'a tarball hard link to ../../etc/passwd',
    [{name: 'package/pw', type: '1', linkname: '../../etc/passwd'}],
    'ERR_AGENTOS_SPECIAL_FILE',
  ),
  validateTar(
    'tar-char-device',
    'a tarball character device member (type 3)',
    [{name: 'package/null', type: '3', devmajor: 1, devminor: 3}],
    'ERR_AGENTOS_SPECIAL_FILE',
  ),
  validateTar(
    'tar-block-device',
    'a tarball block device member (type 4)',
    [{name: 'package/sda', type: '4', devmajor: 8, devminor: 0}],
    'ERR_AGENTOS_SPECIAL_FILE',
  ),
  validateTar(
    'tar-fifo',
    'a tarball FIFO member (type 6)',
    [{name: 'package/fifo', type: '6'}],
    'ERR_AGENTOS_SPECIAL_FILE',
  ),
  {
    id: 'validate/tar-command-is-device',
    description: 'a tarball whose command bin/t is a character device',
    build: async (dir) => [
      'validate',
      await tarball(dir, 'p.tgz', [base[0]!, base[1]!, {name: 'package/bin/t', type: '3'}]),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
  {
    id: 'validate/tar-command-symlink-out',
    description: 'a tarball whose command bin/t is a symlink to /etc/passwd',
    build: async (dir) => [
      'validate',
      await tarball(dir, 'p.tgz', [
        base[0]!,
        base[1]!,
        {name: 'package/bin/t', type: '2', linkname: '/etc/passwd'},
      ]),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_BIN_ENTRY_SYMLINK',
  },
  {
    id: 'validate/tar-manifest-bom',
    description: 'a tarball whose agentos-package.json starts with a BOM',
    build: async (dir) => [
      'validate',
      await tarball(dir, 'p.tgz', [
        base[0]!,
        base[2]!,
        {name: 'package/agentos-package.json', body: '\ufeff{"name":"t"}'},
      ]),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_BOM',
  },
  {
    id: 'validate/tar-truncated',
    description: 'a tar cut off in the middle of a member',
    build: async (dir) => ['validate', await truncatedTar(dir)],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_CORRUPT',
  },
  {
    id: 'validate/tgz-truncated',
    description: 'a gzip stream cut off after 60 bytes',
    build: async (dir) => [
      'validate',
      await put(dir, 'cut.tgz', craftTar(base, {gzip: true}).subarray(0, 60)),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_CORRUPT',
  },
  {
    id: 'validate/tgz-zero-bytes',
    description: 'an empty .tgz file',
    build: async (dir) => ['validate', await put(dir, 'empty.tgz', '')],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_CORRUPT',
  },
  {
    id: 'validate/tar-bad-checksum',
    description: 'a tar header whose checksum does not match',
    build: async (dir) => {
      const bytes = craftTar(base)
      bytes.write('0000000\0', 148, 'latin1')
      return ['validate', await put(dir, 'bad.tar', bytes)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_TAR_CORRUPT',
  },
  {
    id: 'validate/usage-no-argument',
    description: 'no package argument',
    build: async () => ['validate'],
    exit: 2,
    code: 'ERR_AGENTOS_USAGE',
  },
  {
    id: 'validate/usage-unknown-flag',
    description: 'an unknown flag',
    build: async (dir) => ['validate', await packageDir(dir), '--frobnicate'],
    exit: 2,
    code: 'ERR_AGENTOS_USAGE',
  },

  // ── inspect: it reads whatever it can and exits 0 with the problems listed ───────────────────
  {
    id: 'inspect/tar-dotdot-member',
    description: 'a tarball with a ../ member is described, the member reported and never read',
    build: async (dir) => [
      'inspect',
      await tarball(dir, 'p.tgz', [...base, {name: 'package/../../x', body: 'x'}]),
    ],
    exit: 0,
    code: 'ERR_AGENTOS_TAR_PATH_ESCAPES',
    process: true,
  },
  {
    id: 'inspect/tar-symlink-out',
    description: 'a tarball symlink leading out of the root',
    build: async (dir) => ['inspect', await tarball(dir, 'p.tgz', [...base, tarSymlinkOut])],
    exit: 0,
    code: 'ERR_AGENTOS_SYMLINK',
  },
  {
    id: 'inspect/tar-hardlink-out',
    description: 'a tarball hard link leading out of the root',
    build: async (dir) => ['inspect', await tarball(dir, 'p.tgz', [...base, tarHardlinkOut])],
    exit: 0,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
  {
    id: 'inspect/tar-truncated',
    description: 'a truncated tar cannot be described at all',
    build: async (dir) => ['inspect', await truncatedTar(dir)],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_CORRUPT',
  },
  {
    id: 'inspect/tar-member-10gb',
    description:
      'a 110-byte .tgz whose package/dist/package.aospkg member declares 10 GB (once a RangeError crash)',
    build: async (dir) => [
      'inspect',
      await put(
        dir,
        'big.tgz',
        gzipSync(
          Buffer.concat([tarHeader({name: 'package/dist/package.aospkg'}, 10 * 1024 ** 3), Buffer.alloc(64)]),
        ),
      ),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_MEMBER_TOO_LARGE',
    process: true,
  },
  {
    id: 'validate/tar-member-beyond-archive',
    description: 'a plain .tar whose member declares more bytes than the whole file holds',
    build: async (dir) => [
      'validate',
      await put(
        dir,
        'big.tar',
        Buffer.concat([tarHeader({name: 'package/package.json'}, 1024 ** 3), Buffer.alloc(1024)]),
      ),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_MEMBER_TOO_LARGE',
  },
  {
    id: 'inspect/manifest-nested-100k',
    description: 'agentos-package.json nested 100 000 arrays deep',
    build: async (dir) => ['inspect', await packageDir(dir, {manifest: nestedArrays(100_000)})],
    exit: 0,
    code: 'ERR_AGENTOS_JSON_TOO_DEEP',
  },
  {
    id: 'inspect/package-json-50mb',
    description: 'a 50 MB package.json',
    build: async (dir) => ['inspect', await packageDir(dir, {packageJson: hugePackageJson(50 * MB)})],
    exit: 0,
    code: 'ERR_AGENTOS_JSON_TOO_LARGE',
  },
  {
    id: 'inspect/manifest-bom',
    description: 'agentos-package.json with a UTF-8 BOM',
    build: async (dir) => ['inspect', await packageDir(dir, {manifest: '\ufeff{"name":"t"}'})],
    exit: 0,
    code: 'ERR_AGENTOS_JSON_BOM',
  },
  {
    id: 'inspect/manifest-duplicate-keys',
    description: 'agentos-package.json with "name" twice',
    build: async (dir) => ['inspect', await packageDir(dir, {manifest: '{"name":"t","name":"u"}'})],
    exit: 0,
    code: 'WARN_AGENTOS_JSON_DUPLICATE_KEY',
  },
  {
    id: 'inspect/target-missing',
    description: 'a target that does not exist',
    build: async (dir) => ['inspect', join(dir, 'nope')],
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_NOT_FOUND',
  },
  {
    id: 'inspect/target-symlink-loop',
    description: 'a target that is a symlink loop',
    build: async (dir) => ['inspect', await link(dir, 'loop', 'loop')],
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_UNREADABLE',
  },
  {
    id: 'inspect/unreadable-file',
    description: 'a package file without read permission (once ERR_AGENTOS_INTERNAL: the digest needs it)',
    build: async (dir) => {
      const pkg = await packageDir(dir, {files: {'lib/secret.js': 'x'}})
      await chmod(join(pkg, 'lib/secret.js'), 0o000)
      return ['inspect', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_TARGET_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'inspect/manifest-wrong-types',
    description: 'agent is a string and provides an array',
    build: async (dir) => [
      'inspect',
      await packageDir(dir, {manifest: {name: 't', agent: 'x', provides: []}}),
    ],
    exit: 0,
    code: 'ERR_AGENTOS_AGENT_TYPE',
  },
  {
    id: 'inspect/provides-target-opt-agentos',
    description: 'a provides.files target of /opt/agentos itself',
    build: async (dir) => [
      'inspect',
      await packageDir(dir, {manifest: providing('/opt/agentos'), files: withConf}),
    ],
    exit: 0,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  },
  {
    id: 'inspect/provides-target-overlap',
    description: 'provides.files targets /usr/share/app and /usr/share/app/x',
    build: async (dir) => [
      'inspect',
      await packageDir(dir, {manifest: providing('/usr/share/app/x', '/usr/share/app'), files: withConf}),
    ],
    exit: 0,
    code: 'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
  },
  {
    id: 'inspect/command-wasm-component',
    description: 'a command that is a WebAssembly component',
    build: async (dir) => [
      'inspect',
      await packageDir(dir, {files: {'bin/t': Buffer.from('0061736d0d000100', 'hex')}}),
    ],
    exit: 0,
    code: 'ERR_AGENTOS_BIN_WASM_COMPONENT',
  },
  {
    id: 'inspect/command-wasm-truncated',
    description: 'a command holding only the first two bytes of the WASM magic',
    build: async (dir) => ['inspect', await packageDir(dir, {files: {'bin/t': Buffer.from('0061', 'hex')}})],
    exit: 0,
    code: 'ERR_AGENTOS_BIN_UNKNOWN_HEADER',
  },
  {
    id: 'inspect/usage-no-argument',
    description: 'no target argument',
    build: async () => ['inspect'],
    exit: 2,
    code: 'ERR_AGENTOS_USAGE',
  },

  // ── pack ─────────────────────────────────────────────────────────────────────────────────────
  {
    id: 'pack/package-json-syntax',
    description: 'a project package.json cut short (once "has no package.json with a name")',
    build: async (dir) => {
      const root = await project(dir)
      await writeFile(join(root, 'package.json'), '{"name": "my-tool",')
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_PACK_PACKAGE_JSON_INVALID',
  },
  packManifest(
    'manifest-nested-100k',
    'a project agentos-package.json nested 100 000 deep (once a RangeError crash)',
    nestedArrays(100_000, 'my-tool'),
    'ERR_AGENTOS_JSON_TOO_DEEP',
  ),
  packManifest(
    'manifest-bom',
    'a project manifest with a BOM',
    '\ufeff{"name":"my-tool"}',
    'ERR_AGENTOS_JSON_BOM',
  ),
  packManifest('manifest-not-object', 'a manifest that is an array', [], 'ERR_AGENTOS_MANIFEST_NOT_OBJECT'),
  packManifest('manifest-agent-string', 'agent is a string', {agent: 'x'}, 'ERR_AGENTOS_AGENT_TYPE'),
  packManifest(
    'manifest-provides-array',
    'provides is an array',
    {provides: []},
    'ERR_AGENTOS_PROVIDES_TYPE',
  ),
  packManifest(
    'manifest-provides-target-number',
    'a provides.files target that is a number',
    {provides: {files: [{source: 'cli.js', target: 5}]}},
    'ERR_AGENTOS_PROVIDES_FILES_TYPE',
  ),
  packManifest(
    'manifest-agent-env-number',
    'an agent.env value that is a number',
    {agent: {acpEntrypoint: 'my-tool', env: {A: 1}}},
    'ERR_AGENTOS_AGENT_ENV_TYPE',
  ),
  packManifest(
    'manifest-launch-args-string',
    'agent.launchArgs is a string',
    {agent: {acpEntrypoint: 'my-tool', launchArgs: '--x'}},
    'ERR_AGENTOS_AGENT_LAUNCH_ARGS_TYPE',
  ),
  packManifest(
    'manifest-snapshot-string',
    'agent.snapshot is "yes"',
    {agent: {acpEntrypoint: 'my-tool', snapshot: 'yes'}},
    'ERR_AGENTOS_AGENT_SNAPSHOT_TYPE',
  ),
  packManifest(
    'manifest-version-number',
    'version is a number',
    {version: 1},
    'ERR_AGENTOS_MANIFEST_VERSION_TYPE',
  ),
  packManifest(
    'provides-target-proc',
    'a provides.files target under /proc',
    {provides: {files: [{source: 'cli.js', target: '/proc/1/root'}]}},
    'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  ),
  packManifest(
    'provides-target-opt-agentos-bin',
    'a provides.files target in /opt/agentos/bin',
    {provides: {files: [{source: 'cli.js', target: '/opt/agentos/bin/sh'}]}},
    'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
  ),
  packManifest(
    'provides-target-overlap',
    'provides.files targets /etc/x and /etc/x/y',
    {
      provides: {
        files: [
          {source: 'cli.js', target: '/etc/x'},
          {source: 'cli.js', target: '/etc/x/y'},
        ],
      },
    },
    'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
  ),
  packBin(
    'bin-name-dotdot',
    'a command named ".." (once "declares no commands")',
    {'..': 'cli.js'},
    'ERR_AGENTOS_PACK_BIN_INVALID',
    'ERR_AGENTOS_BIN_NAME_INVALID',
  ),
  packBin(
    'bin-name-slash',
    'a command named "a/b" (once silently packed as "b")',
    {'a/b': 'cli.js'},
    'ERR_AGENTOS_PACK_BIN_INVALID',
    'ERR_AGENTOS_BIN_NAME_INVALID',
  ),
  packBin(
    'bin-name-nul',
    'a command name with a NUL byte',
    {'a\u0000b': 'cli.js'},
    'ERR_AGENTOS_PACK_BIN_INVALID',
    'ERR_AGENTOS_BIN_NAME_INVALID',
  ),
  {
    ...packBin(
      'bin-name-5000',
      'a 5000-character command name (once packed)',
      {[LONG]: 'cli.js'},
      'ERR_AGENTOS_PACK_BIN_INVALID',
      'ERR_AGENTOS_BIN_NAME_INVALID',
    ),
  },
  packBin(
    'bin-entry-dotdot',
    'a bin entry ../../../etc/passwd (once reported as "etc/passwd not found")',
    {t: '../../../etc/passwd'},
    'ERR_AGENTOS_PACK_BIN_INVALID',
    'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
  ),
  packBin(
    'bin-entry-absolute',
    'a bin entry /etc/passwd',
    {t: '/etc/passwd'},
    'ERR_AGENTOS_PACK_BIN_INVALID',
    'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
  ),
  packBin('bin-number', 'bin is a number', 5, 'ERR_AGENTOS_PACK_NO_BIN'),
  {
    id: 'pack/bin-entry-symlink-outside',
    description: 'the bin entry is a symlink to /etc/passwd (never copied)',
    build: async (dir) => {
      const root = await project(dir, (pkg) => (pkg.bin = {t: 'evil.js'}))
      await link(root, 'evil.js', '/etc/passwd')
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_PACK_BIN_NOT_FOUND',
  },
  {
    id: 'pack/dependency-symlink-loop',
    description: 'a directory symlink cycle inside a dependency',
    build: async (dir) => {
      const root = await project(dir)
      await link(root, 'node_modules/ms/sub/loop', '..')
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_PACK_SYMLINK_LOOP',
  },
  {
    id: 'pack/dependency-symlink-outside',
    description: 'a dependency file linking to /etc/hostname',
    build: async (dir) => {
      const root = await project(dir)
      await link(root, 'node_modules/ms/host', '/etc/hostname')
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_PACK_SYMLINK_OUTSIDE',
  },
  {
    id: 'pack/out-is-file',
    description: '--out names an existing file',
    build: async (dir) => ['pack', await project(dir), '--out', await put(dir, 'notes.txt', 'mine\n')],
    exit: 1,
    code: 'ERR_AGENTOS_OUT_IS_FILE',
  },
  {
    id: 'pack/out-is-root',
    description: '--out /',
    build: async (dir) => ['pack', await project(dir), '--out', '/'],
    exit: 1,
    code: 'ERR_AGENTOS_OUT_IS_ROOT',
  },
  {
    id: 'pack/out-is-source',
    description: '--out is the project itself',
    build: async (dir) => {
      const root = await project(dir)
      return ['pack', root, '--out', root]
    },
    exit: 1,
    code: 'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
  },
  {
    id: 'pack/out-is-parent-of-source',
    description: '--out is the directory holding the project',
    build: async (dir) => ['pack', await project(dir), '--out', dir],
    exit: 1,
    code: 'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
  },
  {
    id: 'pack/out-is-user-dir',
    description: '--out is a non-empty directory of user files',
    build: async (dir) => {
      await put(dir, 'docs/thesis.md', '# years of work\n')
      return ['pack', await project(dir), '--out', join(dir, 'docs')]
    },
    exit: 1,
    code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
  },
  {
    id: 'pack/source-missing',
    description: 'a source path that does not exist',
    build: async (dir) => ['pack', join(dir, 'nope'), '--out', out(dir)],
    exit: 1,
    code: 'ERR_AGENTOS_PACK_SOURCE_NOT_FOUND',
  },
  {
    id: 'pack/tarball-truncated',
    description: 'a .tgz source cut short (once ERR_AGENTOS_INTERNAL)',
    build: async (dir) => [
      'pack',
      await put(dir, 'cut.tgz', craftTar(validPackageMembers(), {gzip: true}).subarray(0, 50)),
      '--out',
      out(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_PACK_TARBALL_CORRUPT',
    process: true,
  },
  {
    id: 'pack/tarball-zero-bytes',
    description: 'an empty .tgz source (once ERR_AGENTOS_INTERNAL)',
    build: async (dir) => ['pack', await put(dir, 'empty.tgz', ''), '--out', out(dir)],
    exit: 1,
    code: 'ERR_AGENTOS_PACK_TARBALL_CORRUPT',
  },
  {
    id: 'pack/tarball-not-tar',
    description: 'a .tgz source that is plain text (once ERR_AGENTOS_INTERNAL)',
    build: async (dir) => [
      'pack',
      await put(dir, 'text.tgz', 'not a tarball\n'.repeat(50)),
      '--out',
      out(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_PACK_TARBALL_CORRUPT',
  },
  {
    id: 'pack/unreadable-dependency-file',
    description: 'a dependency file without read permission (once ERR_AGENTOS_OUT_DENIED on the target)',
    build: async (dir) => {
      const root = await project(dir)
      await chmod(join(root, 'node_modules/ms/index.js'), 0o000)
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SOURCE_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'pack/unreadable-dependency-dir',
    description: 'a dependency directory that cannot be listed',
    build: async (dir) => {
      const root = await project(dir)
      await mkdir(join(root, 'node_modules/ms/lib'))
      await writeFile(join(root, 'node_modules/ms/lib/extra.js'), 'module.exports = 1\n')
      await chmod(join(root, 'node_modules/ms/lib'), 0o000)
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SOURCE_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'pack/unreadable-package-json',
    description: 'the project package.json without read permission',
    build: async (dir) => {
      const root = await project(dir)
      await chmod(join(root, 'package.json'), 0o000)
      return ['pack', root, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SOURCE_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'pack/usage-no-argument',
    description: 'no source argument',
    build: async () => ['pack'],
    exit: 2,
    code: 'ERR_AGENTOS_USAGE',
  },
  {
    id: 'pack/usage-bad-layout',
    description: '--layout with a value that is not an option',
    build: async (dir) => ['pack', await project(dir), '--layout', '../../etc', '--out', out(dir)],
    exit: 2,
    code: 'ERR_AGENTOS_USAGE',
  },

  // ── assemble-wasm ────────────────────────────────────────────────────────────────────────────
  ...(
    [
      ['zero', 'a zero-byte .wasm', 'ERR_AGENTOS_WASM_MAGIC'],
      ['truncated', 'a module cut off inside its first section', 'ERR_AGENTOS_WASM_INVALID'],
      ['component', 'a WebAssembly component', 'ERR_AGENTOS_WASM_COMPONENT'],
      ['reactor', 'a WASI reactor (no _start)', 'ERR_AGENTOS_WASM_REACTOR'],
      ['text', 'a text file named .wasm', 'ERR_AGENTOS_WASM_MAGIC'],
      ['bad-version', 'a module with version bytes 2', 'ERR_AGENTOS_WASM_VERSION'],
    ] as const
  ).map(([kind, description, code]): BadInputCase => ({
    id: `assemble-wasm/module-${kind}`,
    description,
    build: async (dir) => ['assemble-wasm', await wasmFile(dir, kind), ...wasmArgs(dir)],
    exit: 1,
    code,
    process: kind === 'reactor',
  })),
  {
    id: 'assemble-wasm/command-name-300',
    description: 'a 300-character command name (once ERR_AGENTOS_OUT_WRITE_FAILED ENAMETOOLONG)',
    build: async (dir) => [
      'assemble-wasm',
      '--command',
      `${'c'.repeat(300)}=${await wasmFile(dir, 'hello')}`,
      ...wasmArgs(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID',
  },
  {
    id: 'assemble-wasm/command-name-dotdot',
    description: 'a command named ".."',
    build: async (dir) => [
      'assemble-wasm',
      '--command',
      `..=${await wasmFile(dir, 'hello')}`,
      ...wasmArgs(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID',
  },
  {
    id: 'assemble-wasm/command-name-control',
    description: 'a command name with an escape character',
    build: async (dir) => [
      'assemble-wasm',
      '--command',
      `a\u001bb=${await wasmFile(dir, 'hello')}`,
      ...wasmArgs(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID',
  },
  {
    id: 'assemble-wasm/command-flag-malformed',
    description: '--command without name=path',
    build: async (dir) => ['assemble-wasm', '--command', await wasmFile(dir, 'hello'), ...wasmArgs(dir)],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_COMMAND_FLAG',
  },
  {
    id: 'assemble-wasm/out-is-file',
    description: '--out names an existing file',
    build: async (dir) => [
      'assemble-wasm',
      await wasmFile(dir, 'hello'),
      ...wasmArgs(dir, {out: await put(dir, 'notes.txt', 'mine\n')}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_OUT_IS_FILE',
  },
  {
    id: 'assemble-wasm/out-is-root',
    description: '--out /',
    build: async (dir) => ['assemble-wasm', await wasmFile(dir, 'hello'), ...wasmArgs(dir, {out: '/'})],
    exit: 1,
    code: 'ERR_AGENTOS_OUT_IS_ROOT',
  },
  {
    id: 'assemble-wasm/out-is-project',
    description: '--out is the project directory',
    build: async (dir) => {
      const proj = await wasmProject(dir)
      return ['assemble-wasm', join(proj, 'hello.wasm'), '--project', proj, '--out', proj]
    },
    exit: 1,
    code: 'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
  },
  {
    id: 'assemble-wasm/out-is-parent-of-project',
    description: '--out is the directory holding the project',
    build: async (dir) => {
      const proj = await wasmProject(dir)
      return ['assemble-wasm', join(proj, 'hello.wasm'), '--project', proj, '--out', dir]
    },
    exit: 1,
    code: 'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
  },
  {
    id: 'assemble-wasm/out-is-user-dir',
    description: '--out is a non-empty directory of user files',
    build: async (dir) => {
      await put(dir, 'photos/2019.jpg', 'jpeg')
      return ['assemble-wasm', await wasmFile(dir, 'hello'), ...wasmArgs(dir, {out: join(dir, 'photos')})]
    },
    exit: 1,
    code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
  },
  {
    id: 'assemble-wasm/name-traversal',
    description: '--name ../x',
    build: async (dir) => ['assemble-wasm', await wasmFile(dir, 'hello'), ...wasmArgs(dir, {name: '../x'})],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_NAME_INVALID',
  },
  {
    id: 'assemble-wasm/version-traversal',
    description: '--version 1.0.0/../../x',
    build: async (dir) => [
      'assemble-wasm',
      await wasmFile(dir, 'hello'),
      ...wasmArgs(dir, {version: '1.0.0/../../x'}),
    ],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_VERSION_INVALID',
  },
  {
    id: 'assemble-wasm/include-dotdot',
    description: '--include ../*',
    build: async (dir) => [
      'assemble-wasm',
      await wasmFile(dir, 'hello'),
      ...wasmArgs(dir),
      '--include',
      '../*',
    ],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE',
  },
  {
    id: 'assemble-wasm/include-absolute',
    description: '--include /etc/passwd',
    build: async (dir) => [
      'assemble-wasm',
      await wasmFile(dir, 'hello'),
      ...wasmArgs(dir),
      '--include',
      '/etc/passwd',
    ],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE',
  },
  {
    id: 'assemble-wasm/include-symlink-outside',
    description: 'an --include match that is a symlink to /etc (once copied the host /etc)',
    build: async (dir) => {
      const proj = await wasmProject(dir)
      await link(proj, 'share/etc', '/etc')
      return [
        'assemble-wasm',
        join(proj, 'hello.wasm'),
        '--project',
        proj,
        '--out',
        out(dir),
        '--include',
        'share/**',
      ]
    },
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_OUTSIDE',
  },
  {
    id: 'assemble-wasm/include-symlink-cycle',
    description: 'an --include tree with a link to its parent (once copied ~40 nested duplicates)',
    build: async (dir) => {
      const proj = await wasmProject(dir)
      await put(proj, 'share/doc/a.txt', 'a\n')
      await link(proj, 'share/doc/loop', '..')
      return [
        'assemble-wasm',
        join(proj, 'hello.wasm'),
        '--project',
        proj,
        '--out',
        out(dir),
        '--include',
        'share/**',
      ]
    },
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_SYMLINK_LOOP',
  },
  ...(
    [
      ['package-json-syntax', 'a project package.json cut short', {packageJson: '{"name": "x",'}],
      [
        'package-json-nested-100k',
        'a project package.json nested 100 000 deep',
        {packageJson: nestedPackageJson(100_000)},
      ],
      [
        'package-json-bom',
        'a project package.json with a BOM',
        {packageJson: '\ufeff{"name":"x","version":"1.0.0"}'},
      ],
      ['cargo-toml-malformed', 'a project Cargo.toml that is not TOML', {cargo: '[package\nname = "x"\n'}],
    ] as const
  ).map(([slug, description, parts]): BadInputCase => ({
    id: `assemble-wasm/project-${slug}`,
    description,
    build: async (dir) => {
      const proj = await wasmProject(dir, parts)
      return ['assemble-wasm', join(proj, 'hello.wasm'), '--project', proj, '--out', out(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_PROJECT_INVALID',
  })),
  ...(
    [
      [
        'provides-target-proc',
        'the project manifest overlays /proc/cpuinfo',
        providing('/proc/cpuinfo'),
        'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
      ],
      ['agent-number', 'the project manifest has agent: 5', {name: 'x', agent: 5}, 'ERR_AGENTOS_AGENT_TYPE'],
      [
        'provides-overlap',
        'the project manifest overlays /etc/a and /etc/a/b',
        providing('/etc/a', '/etc/a/b'),
        'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
      ],
    ] as const
  ).map(([slug, description, manifest, code]): BadInputCase => ({
    id: `assemble-wasm/project-manifest-${slug}`,
    description,
    build: async (dir) => {
      const proj = await wasmProject(dir, {manifest})
      await put(proj, 'etc/app.conf', 'x=1\n')
      return [
        'assemble-wasm',
        join(proj, 'hello.wasm'),
        '--project',
        proj,
        '--out',
        out(dir),
        '--include',
        'etc/app.conf',
      ]
    },
    exit: 1,
    code,
  })),
  {
    id: 'assemble-wasm/no-inputs',
    description: 'no inputs at all',
    build: async (dir) => ['assemble-wasm', ...wasmArgs(dir)],
    exit: 2,
    code: 'ERR_AGENTOS_ASSEMBLE_NO_INPUTS',
  },
  {
    id: 'assemble-wasm/input-missing',
    description: 'an input that does not exist',
    build: async (dir) => ['assemble-wasm', join(dir, 'nope.wasm'), ...wasmArgs(dir)],
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_INPUT_MISSING',
  },
  {
    id: 'assemble-wasm/input-dir-without-wasm',
    description: 'an input directory holding no .wasm',
    build: async (dir) => {
      await mkdir(join(dir, 'build'))
      await put(dir, 'build/readme.txt', 'x')
      return ['assemble-wasm', join(dir, 'build'), ...wasmArgs(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_NO_MATCH',
  },
  {
    id: 'assemble-wasm/unreadable-module',
    description: 'a .wasm input without read permission',
    build: async (dir) => {
      const file = await wasmFile(dir, 'hello')
      await chmod(file, 0o000)
      return ['assemble-wasm', file, ...wasmArgs(dir)]
    },
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_INPUT_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'assemble-wasm/unreadable-include',
    description: 'an --include file without read permission (once ERR_AGENTOS_OUT_DENIED on the target)',
    build: async (dir) => {
      const proj = await wasmProject(dir)
      await chmod(await put(proj, 'share/secret.txt', 's'), 0o000)
      return [
        'assemble-wasm',
        join(proj, 'hello.wasm'),
        '--project',
        proj,
        '--out',
        out(dir),
        '--include',
        'share/secret.txt',
      ]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SOURCE_UNREADABLE',
    unprivileged: true,
  },
  {
    id: 'assemble-wasm/check-file',
    description: '--check on a file',
    build: async (dir) => ['assemble-wasm', '--check', await put(dir, 'f.txt', 'x')],
    exit: 1,
    code: 'ERR_AGENTOS_ASSEMBLE_CHECK_NOT_PACKAGE',
  },
  {
    id: 'assemble-wasm/check-nested-package-json',
    description: '--check on a package whose package.json is nested 100 000 deep',
    build: async (dir) => [
      'assemble-wasm',
      '--check',
      await packageDir(dir, {packageJson: nestedPackageJson(100_000)}),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_JSON_TOO_DEEP',
  },
  ...BOUNDED_CASES,
  ...SPECIAL_CASES,
  ...ADVERSARIAL_CASES,
]
