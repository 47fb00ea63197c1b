import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {checkManifest, type ManifestCheck} from '../../../src/format/manifest.js'
import {MANIFEST_SCHEMA_ID, manifestJsonSchema} from '../../../src/format/manifest-schema.js'
import {MANIFEST_FILE} from '../../../src/format/paths.js'
import {MANIFEST_SHAPE} from '../../../src/format/manifest-shape.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

const codes = (check: ManifestCheck) => check.problems.map((p) => p.code)
const only = (check: ManifestCheck) => {
  expect(check.problems).toHaveLength(1)
  return check.problems[0]!
}

const fullManifest = {
  $schema: MANIFEST_SCHEMA_ID,
  name: 'my-agent',
  version: '1.2.3-beta.1',
  agent: {
    acpEntrypoint: 'my-agent-acp',
    env: {PI_ACP_PI_COMMAND: '/opt/agentos/bin/pi', _X: ''},
    launchArgs: ['--acp', ''],
    snapshot: true,
  },
  provides: {
    env: {EXAMPLE_HOME: '/opt/agentos/my-agent'},
    files: [
      {source: 'etc/example.conf', target: '/etc/example.conf'},
      {source: './share/vim/vim92', target: '/usr/share/vim/vim92'},
    ],
  },
}

describe('constants', () => {
  it('names the manifest file', () => {
    expect(MANIFEST_FILE).toBe('agentos-package.json')
  })
})

describe('checkManifest: valid manifests', () => {
  it('accepts the minimal {name}', () => {
    expect(checkManifest({name: 'my-tool'})).toEqual({manifest: {name: 'my-tool'}, problems: []})
  })

  it('accepts a full manifest without any problem', () => {
    const check = checkManifest(fullManifest)
    expect(check.problems).toEqual([])
    expect(check.manifest).toBe(fullManifest)
  })

  it('accepts the example of the specification', () => {
    const check = checkManifest({
      name: 'my-agent',
      agent: {acpEntrypoint: 'my-agent-acp', env: {}, launchArgs: [], snapshot: false},
      provides: {
        env: {EXAMPLE_HOME: '/opt/agentos/my-agent'},
        files: [{source: 'etc/example.conf', target: '/etc/example.conf'}],
      },
    })
    expect(check.problems).toEqual([])
    expect(check.manifest).toBeDefined()
  })

  it('accepts empty agent/provides sub-objects', () => {
    expect(checkManifest({name: 'x', provides: {}}).problems).toEqual([])
    expect(checkManifest({name: 'x', provides: {env: {}, files: []}}).problems).toEqual([])
    expect(checkManifest({name: 'x', agent: {acpEntrypoint: 'a'}}).problems).toEqual([])
  })

  it('still returns the manifest when there are only warnings or infos', () => {
    const check = checkManifest({name: 'MyTool', version: '1.0', extra: true})
    expect(codes(check).sort()).toEqual(
      [
        'INFO_AGENTOS_MANIFEST_UNKNOWN_KEY',
        'WARN_AGENTOS_MANIFEST_NAME_STYLE',
        'WARN_AGENTOS_MANIFEST_VERSION_SEMVER',
      ].sort(),
    )
    expect(check.manifest).toBeDefined()
  })

  it('does not return a manifest when there is an error', () => {
    expect(checkManifest({name: 'a/b'}).manifest).toBeUndefined()
    expect(checkManifest({}).manifest).toBeUndefined()
  })
})

describe('checkManifest: schema type errors map to one code each', () => {
  it.each<[string, unknown, string, string]>([
    ['an array', [], 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', MANIFEST_FILE],
    ['null', null, 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', MANIFEST_FILE],
    ['a string', 'my-tool', 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', MANIFEST_FILE],
    ['a number', 1, 'ERR_AGENTOS_MANIFEST_NOT_OBJECT', MANIFEST_FILE],
    ['missing name', {}, 'ERR_AGENTOS_MANIFEST_NAME_INVALID', `${MANIFEST_FILE}#name`],
    ['numeric name', {name: 1}, 'ERR_AGENTOS_MANIFEST_NAME_INVALID', `${MANIFEST_FILE}#name`],
    ['empty name', {name: ''}, 'ERR_AGENTOS_MANIFEST_NAME_INVALID', `${MANIFEST_FILE}#name`],
    ['null name', {name: null}, 'ERR_AGENTOS_MANIFEST_NAME_INVALID', `${MANIFEST_FILE}#name`],
    [
      'numeric version',
      {name: 'x', version: 1},
      'ERR_AGENTOS_MANIFEST_VERSION_TYPE',
      `${MANIFEST_FILE}#version`,
    ],
    [
      'empty version',
      {name: 'x', version: ''},
      'ERR_AGENTOS_MANIFEST_VERSION_TYPE',
      `${MANIFEST_FILE}#version`,
    ],
    [
      'numeric $schema',
      {name: 'x', $schema: 1},
      'ERR_AGENTOS_MANIFEST_FIELD_TYPE',
      `${MANIFEST_FILE}#$schema`,
    ],
    ['agent a string', {name: 'x', agent: 'a'}, 'ERR_AGENTOS_AGENT_TYPE', `${MANIFEST_FILE}#agent`],
    ['agent null', {name: 'x', agent: null}, 'ERR_AGENTOS_AGENT_TYPE', `${MANIFEST_FILE}#agent`],
    ['agent empty array', {name: 'x', agent: []}, 'ERR_AGENTOS_AGENT_TYPE', `${MANIFEST_FILE}#agent`],
    [
      'acpEntrypoint missing',
      {name: 'x', agent: {}},
      'ERR_AGENTOS_AGENT_ENTRYPOINT_MISSING',
      `${MANIFEST_FILE}#agent.acpEntrypoint`,
    ],
    [
      'acpEntrypoint empty',
      {name: 'x', agent: {acpEntrypoint: ''}},
      'ERR_AGENTOS_AGENT_ENTRYPOINT_MISSING',
      `${MANIFEST_FILE}#agent.acpEntrypoint`,
    ],
    [
      'acpEntrypoint a number',
      {name: 'x', agent: {acpEntrypoint: 1}},
      'ERR_AGENTOS_AGENT_ENTRYPOINT_MISSING',
      `${MANIFEST_FILE}#agent.acpEntrypoint`,
    ],
    [
      'agent.env a string',
      {name: 'x', agent: {acpEntrypoint: 'a', env: 'A=1'}},
      'ERR_AGENTOS_AGENT_ENV_TYPE',
      `${MANIFEST_FILE}#agent.env`,
    ],
    [
      'agent.env an array',
      {name: 'x', agent: {acpEntrypoint: 'a', env: ['A=1']}},
      'ERR_AGENTOS_AGENT_ENV_TYPE',
      `${MANIFEST_FILE}#agent.env`,
    ],
    [
      'agent.env with a non-string value',
      {name: 'x', agent: {acpEntrypoint: 'a', env: {A: 1}}},
      'ERR_AGENTOS_AGENT_ENV_TYPE',
      `${MANIFEST_FILE}#agent.env.A`,
    ],
    [
      'launchArgs not an array',
      {name: 'x', agent: {acpEntrypoint: 'a', launchArgs: '--x'}},
      'ERR_AGENTOS_AGENT_LAUNCH_ARGS_TYPE',
      `${MANIFEST_FILE}#agent.launchArgs`,
    ],
    [
      'launchArgs with a number',
      {name: 'x', agent: {acpEntrypoint: 'a', launchArgs: ['--x', 1]}},
      'ERR_AGENTOS_AGENT_LAUNCH_ARGS_TYPE',
      `${MANIFEST_FILE}#agent.launchArgs[1]`,
    ],
    [
      'snapshot a string',
      {name: 'x', agent: {acpEntrypoint: 'a', snapshot: 'true'}},
      'ERR_AGENTOS_AGENT_SNAPSHOT_TYPE',
      `${MANIFEST_FILE}#agent.snapshot`,
    ],
    [
      'provides a string',
      {name: 'x', provides: 'x'},
      'ERR_AGENTOS_PROVIDES_TYPE',
      `${MANIFEST_FILE}#provides`,
    ],
    ['provides null', {name: 'x', provides: null}, 'ERR_AGENTOS_PROVIDES_TYPE', `${MANIFEST_FILE}#provides`],
    [
      'provides.env value a number',
      {name: 'x', provides: {env: {A: 1}}},
      'ERR_AGENTOS_PROVIDES_ENV_VALUE',
      `${MANIFEST_FILE}#provides.env.A`,
    ],
    [
      'provides.env a string',
      {name: 'x', provides: {env: 'A=1'}},
      'ERR_AGENTOS_PROVIDES_ENV_VALUE',
      `${MANIFEST_FILE}#provides.env`,
    ],
    [
      'files not an array',
      {name: 'x', provides: {files: {source: 'a', target: '/a'}}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files`,
    ],
    [
      'files item a string',
      {name: 'x', provides: {files: ['a']}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0]`,
    ],
    [
      'files item null',
      {name: 'x', provides: {files: [null]}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0]`,
    ],
    [
      'files item without target',
      {name: 'x', provides: {files: [{source: 'a'}]}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0].target`,
    ],
    [
      'files item without source',
      {name: 'x', provides: {files: [{target: '/a'}]}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0].source`,
    ],
    [
      'files item with an empty target',
      {name: 'x', provides: {files: [{source: 'a', target: ''}]}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0].target`,
    ],
    [
      'files item with a numeric source',
      {name: 'x', provides: {files: [{source: 1, target: '/a'}]}},
      'ERR_AGENTOS_PROVIDES_FILES_TYPE',
      `${MANIFEST_FILE}#provides.files[0].source`,
    ],
  ])('%s → exactly one %s', (_label, value, code, path) => {
    const check = checkManifest(value)
    const problem = only(check)
    expect(problem).toMatchObject({code, severity: 'error', path})
    expect(problem.message).toContain(path)
    expect(problem.hint).toBeTruthy()
    expect(check.manifest).toBeUndefined()
  })

  it('says "is required" for a missing field and names the type it got otherwise', () => {
    expect(only(checkManifest({})).message).toBe(`${MANIFEST_FILE}#name is required`)
    expect(only(checkManifest({name: 1})).message).toBe(
      `${MANIFEST_FILE}#name must be a non-empty string, got a number`,
    )
    expect(only(checkManifest({name: ''})).message).toContain('(empty)')
    expect(only(checkManifest({name: 'x', agent: {acpEntrypoint: 'a', env: []}})).message).toContain(
      'an object of strings, got an array',
    )
    expect(only(checkManifest({name: 'x', agent: {acpEntrypoint: 'a', snapshot: 1}})).message).toContain(
      'true or false, got a number',
    )
  })

  it('reports one problem per bad element, never a second one for the same field', () => {
    const check = checkManifest({
      name: 'x',
      agent: {acpEntrypoint: 'a', env: {A: 1, B: true}, launchArgs: [1, 'ok', null]},
      provides: {env: {C: []}, files: [{source: 1}, 'x']},
    })
    const paths = check.problems.map((p) => p.path)
    expect(new Set(paths).size).toBe(paths.length)
    expect(paths.sort()).toEqual(
      [
        `${MANIFEST_FILE}#agent.env.A`,
        `${MANIFEST_FILE}#agent.env.B`,
        `${MANIFEST_FILE}#agent.launchArgs[0]`,
        `${MANIFEST_FILE}#agent.launchArgs[2]`,
        `${MANIFEST_FILE}#provides.env.C`,
        `${MANIFEST_FILE}#provides.files[0].source`,
        `${MANIFEST_FILE}#provides.files[0].target`,
        `${MANIFEST_FILE}#provides.files[1]`,
      ].sort(),
    )
  })

  it('reports problems of several fields together', () => {
    const check = checkManifest({name: 1, version: 2, agent: 'x', provides: 'y'})
    expect(codes(check).sort()).toEqual(
      [
        'ERR_AGENTOS_AGENT_TYPE',
        'ERR_AGENTOS_MANIFEST_NAME_INVALID',
        'ERR_AGENTOS_MANIFEST_VERSION_TYPE',
        'ERR_AGENTOS_PROVIDES_TYPE',
      ].sort(),
    )
  })

  // Regression (fixed): an array where an object is expected gets its type error AND an INFO unknown-key report for
  // every element index ("unknown key "0""), i.e. two problems for one bad field. reportUnknownKeys
  // should skip arrays (checkManifest only guards the top level with !Array.isArray).
  it.each<[string, unknown]>([
    ['agent', {name: 'x', agent: ['a']}],
    ['provides', {name: 'x', provides: ['a']}],
    ['a files item', {name: 'x', provides: {files: [['a']]}}],
  ])('reports a non-empty array as %s once', (_label, value) => {
    expect(checkManifest(value).problems).toHaveLength(1)
  })
})

describe('checkManifest: name', () => {
  it.each(['../x', 'a/b', '@scope/tool', '.hidden', '.', '..', 'a\\b', 'a\0b', 'a\nb'])(
    'refuses unsafe name %j',
    (name) => {
      const problem = only(checkManifest({name}))
      expect(problem).toMatchObject({
        code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE',
        severity: 'error',
        path: `${MANIFEST_FILE}#name`,
      })
    },
  )

  it.each(['bin', 'share', 'pkgs'])('refuses %j, a directory the runtime manages in /opt/agentos', (name) => {
    const problem = only(checkManifest({name}))
    expect(problem).toMatchObject({code: 'ERR_AGENTOS_MANIFEST_NAME_UNSAFE', severity: 'error'})
    expect(problem.message).toContain(`/opt/agentos/${name}`)
  })

  it.each(['bins', 'Bin', 'my-bin', 'current'])('does not treat %j as reserved', (name) => {
    expect(codes(checkManifest({name}))).not.toContain('ERR_AGENTOS_MANIFEST_NAME_UNSAFE')
  })

  it.each(['MyTool', '_tool', '-tool', 'my tool', 'tööl', 'x'.repeat(215)])(
    'warns about name style %j',
    (name) => {
      const check = checkManifest({name})
      const problem = only(check)
      expect(problem).toMatchObject({code: 'WARN_AGENTOS_MANIFEST_NAME_STYLE', severity: 'warning'})
      expect(check.manifest).toEqual({name})
    },
  )

  it.each(['my-tool', 'a', '0x', 'a.b', 'a_b', 'x'.repeat(214), 'tool..x'])('accepts name %j', (name) => {
    expect(checkManifest({name}).problems).toEqual([])
  })
})

describe('checkManifest: version', () => {
  it.each(['1.0.0', '0.0.1-alpha.1', '1.0.0+build.5'])('accepts %j', (version) => {
    expect(checkManifest({name: 'x', version}).problems).toEqual([])
  })

  it.each(['1.0', 'latest', '1', '1.0.0.0'])('warns about non-semver %j', (version) => {
    const problem = only(checkManifest({name: 'x', version}))
    expect(problem).toMatchObject({
      code: 'WARN_AGENTOS_MANIFEST_VERSION_SEMVER',
      severity: 'warning',
      path: `${MANIFEST_FILE}#version`,
    })
  })

  // Regression (fixed): the version becomes a path segment (/opt/agentos/pkgs/<name>/<version>, runtime §2.4) and
  // the runtime does not check it (§2.5 "possible traversal within /opt/agentos"), exactly like the
  // name. The name gets ERR_AGENTOS_MANIFEST_NAME_UNSAFE, but a version such as "../../etc" is only a
  // semver warning, so a non-strict check passes it.
  it('refuses a version that is not a safe path segment with an error', () => {
    const check = checkManifest({name: 'x', version: '../../etc'})
    expect(check.problems.some((p) => p.severity === 'error')).toBe(true)
  })
})

describe('checkManifest: unknown keys', () => {
  it('reports unknown keys at every level as info, once each', () => {
    const check = checkManifest({
      name: 'x',
      commands: [],
      stubs: {},
      agent: {acpEntrypoint: 'a', entry: 'x'},
      provides: {env: {}, dirs: [], files: [{source: 'a', target: '/a', mode: 'ro'}]},
    })
    expect(check.problems.map((p) => [p.code, p.severity, p.path])).toEqual([
      ['INFO_AGENTOS_MANIFEST_UNKNOWN_KEY', 'info', `${MANIFEST_FILE}#commands`],
      ['INFO_AGENTOS_MANIFEST_UNKNOWN_KEY', 'info', `${MANIFEST_FILE}#stubs`],
      ['INFO_AGENTOS_MANIFEST_UNKNOWN_KEY', 'info', `${MANIFEST_FILE}#agent.entry`],
      ['INFO_AGENTOS_MANIFEST_UNKNOWN_KEY', 'info', `${MANIFEST_FILE}#provides.dirs`],
      ['INFO_AGENTOS_MANIFEST_UNKNOWN_KEY', 'info', `${MANIFEST_FILE}#provides.files[0].mode`],
    ])
    expect(check.manifest).toBeDefined()
  })

  it('does not report keys of env maps as unknown', () => {
    expect(checkManifest({name: 'x', provides: {env: {ANYTHING: 'v'}}}).problems).toEqual([])
  })

  it('keeps a plain "~" in a reported key', () => {
    expect(checkManifest({name: 'x', 'c~d': 2}).problems.map((p) => p.path)).toEqual([`${MANIFEST_FILE}#c~d`])
  })

  // Regression (fixed): reportUnknownKeys (and checkEnvKeys) build JSON pointers as `${pointer}/${key}` without
  // escaping "~" and "/" (~0, ~1), while fieldName() unescapes them as TypeBox pointers are escaped.
  // Key "a/b" is reported as "#a.b" (looks like a nested key) and key "c~1d" as "#c/d".
  it('reports keys containing "/" or "~1" verbatim', () => {
    const check = checkManifest({name: 'x', 'a/b': 1, 'c~1d': 2})
    expect(check.problems.map((p) => p.path)).toEqual([`${MANIFEST_FILE}#a/b`, `${MANIFEST_FILE}#c~1d`])
  })
})

describe('checkManifest: env keys', () => {
  it.each(['MY-VAR', '1ABC', '', 'A B', 'A=B', 'É'])('refuses agent.env key %j', (key) => {
    const problem = only(checkManifest({name: 'x', agent: {acpEntrypoint: 'a', env: {[key]: 'v'}}}))
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_AGENT_ENV_KEY',
      severity: 'error',
      path: `${MANIFEST_FILE}#agent.env${key === '' ? '.' : `.${key}`}`,
    })
  })

  it.each(['MY-VAR', '1ABC', 'A.B'])('refuses provides.env key %j', (key) => {
    const problem = only(checkManifest({name: 'x', provides: {env: {[key]: 'v'}}}))
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_PROVIDES_ENV_KEY',
      severity: 'error',
      path: `${MANIFEST_FILE}#provides.env.${key}`,
    })
  })

  // Regression (fixed): same cause as the unknown-key paths: the value error (from TypeBox, escaped pointer) says
  // "#provides.env.A/B" while the key error (hand-built pointer) says "#provides.env.A.B".
  it('gives a key and a value problem of the same env entry the same path', () => {
    const check = checkManifest({name: 'x', provides: {env: {'A/B': 1}}})
    expect(check.problems).toHaveLength(2)
    expect(check.problems[0]!.path).toBe(`${MANIFEST_FILE}#provides.env.A/B`)
    expect(check.problems[1]!.path).toBe(check.problems[0]!.path)
  })

  it('reports a bad key and a bad value of the same entry under their own codes', () => {
    const check = checkManifest({name: 'x', provides: {env: {'A-B': 1}}})
    expect(codes(check).sort()).toEqual(['ERR_AGENTOS_PROVIDES_ENV_KEY', 'ERR_AGENTOS_PROVIDES_ENV_VALUE'])
  })
})

describe('checkManifest: provides.files paths', () => {
  const files = (...entries: Array<{source: string; target: string}>) => ({
    name: 'x',
    provides: {files: entries},
  })

  it('refuses an absolute source', () => {
    const problem = only(checkManifest(files({source: '/etc/x.conf', target: '/etc/x.conf'})))
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_PROVIDES_SOURCE_ABSOLUTE',
      severity: 'error',
      path: `${MANIFEST_FILE}#provides.files[0].source`,
    })
  })

  it.each(['../x', 'a/../../x', 'a\\b', 'a\nb'])('refuses source %j as escaping', (source) => {
    const problem = only(checkManifest(files({source, target: '/x'})))
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_PROVIDES_SOURCE_ESCAPES',
      path: `${MANIFEST_FILE}#provides.files[0].source`,
    })
  })

  it.each(['etc/x.conf', './etc/x.conf', 'share/vim/vim92/', 'a/../b'])('accepts source %j', (source) => {
    expect(checkManifest(files({source, target: '/x'})).problems).toEqual([])
  })

  // Regression (fixed): a source of "." (or "./", "a/..") is the package root, which the runtime accepts (§2.3:
  // "source (normalised; empty = /)"). It is reported as ERR_AGENTOS_PROVIDES_SOURCE_ESCAPES with the
  // message 'is not a path inside the package (empty)', which is false: it does not escape.
  it('does not call the package root "." an escaping source', () => {
    const check = checkManifest(files({source: '.', target: '/x'}))
    expect(codes(check)).not.toContain('ERR_AGENTOS_PROVIDES_SOURCE_ESCAPES')
  })

  it.each([
    ['etc/x.conf', 'ERR_AGENTOS_PROVIDES_TARGET_RELATIVE'],
    ['./etc/x', 'ERR_AGENTOS_PROVIDES_TARGET_RELATIVE'],
    ['/etc/../x', 'ERR_AGENTOS_PROVIDES_TARGET_DOTDOT'],
    ['/..', 'ERR_AGENTOS_PROVIDES_TARGET_DOTDOT'],
    ['/etc//x', 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'],
    ['/etc/x/', 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'],
    ['/etc/./x', 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'],
    ['/etc/x\n', 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'],
  ])('refuses target %j with %s', (target, code) => {
    const problem = only(checkManifest(files({source: 'a', target})))
    expect(problem).toMatchObject({
      code,
      severity: 'error',
      path: `${MANIFEST_FILE}#provides.files[0].target`,
    })
  })

  it('refuses a second file with the same target, naming the first', () => {
    const check = checkManifest(
      files(
        {source: 'a', target: '/etc/x'},
        {source: 'b', target: '/etc/y'},
        {source: 'c', target: '/etc/x'},
      ),
    )
    const problem = only(check)
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_PROVIDES_TARGET_DUPLICATE',
      path: `${MANIFEST_FILE}#provides.files[2].target`,
    })
    expect(problem.message).toContain('files[0]')
  })

  it('does not count an invalid target toward duplicates', () => {
    const check = checkManifest(files({source: 'a', target: '/etc//x'}, {source: 'b', target: '/etc//x'}))
    expect(codes(check)).toEqual([
      'ERR_AGENTOS_PROVIDES_TARGET_INVALID',
      'ERR_AGENTOS_PROVIDES_TARGET_INVALID',
    ])
  })

  it.each([
    ['/proc/1', 'is under /proc, which the VM manages'],
    ['/sys/x', 'is under /sys, which the VM manages'],
    ['/dev', 'is under /dev, which the VM manages'],
    ['/opt/agentos/bin/ls', 'is under /opt/agentos, which the VM manages'],
    ['/opt', 'would cover /opt/agentos, which the VM manages'],
    ['/', 'would cover /proc, which the VM manages'],
    ['/tmp', "would cover /tmp, the VM's temporary directory, with a read-only mount"],
    [
      '/home/agentos',
      "would cover /home/agentos, the guest's home and working directory, with a read-only mount",
    ],
    ['/home', "would cover /home/agentos, the guest's home and working directory, with a read-only mount"],
  ])('refuses target %j: it %s', (target, reason) => {
    const problem = only(checkManifest(files({source: 'a', target})))
    expect(problem).toMatchObject({
      code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
      severity: 'error',
      path: `${MANIFEST_FILE}#provides.files[0].target`,
      message: `provides target ${target} ${reason}`,
    })
    expect(problem.hint).toBeTruthy()
  })

  it.each(['/tmp/x', '/tmp/tool/cache', '/home/agentos/.config/tool', '/home/other', '/opt/tool', '/system'])(
    'accepts target %j',
    (target) => {
      expect(checkManifest(files({source: 'a', target})).problems).toEqual([])
    },
  )

  it('reports a bad source and a bad target of the same item separately', () => {
    const check = checkManifest(files({source: '/abs', target: 'rel'}))
    expect(codes(check)).toEqual([
      'ERR_AGENTOS_PROVIDES_SOURCE_ABSOLUTE',
      'ERR_AGENTOS_PROVIDES_TARGET_RELATIVE',
    ])
  })
})

describe('manifestJsonSchema', () => {
  it('is a draft-07 schema with the published $id and the manifest properties', () => {
    const schema = manifestJsonSchema()
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(schema.$id).toBe(MANIFEST_SCHEMA_ID)
    expect(schema.type).toBe('object')
    expect(schema.required).toEqual(['name'])
    const properties = schema.properties as Record<string, Record<string, unknown>>
    expect(Object.keys(properties)).toEqual(
      expect.arrayContaining(['$schema', 'name', 'version', 'agent', 'provides']),
    )
    expect(properties.agent!.required).toEqual(['acpEntrypoint'])
    expect(Object.keys(properties.provides!.properties as object).sort()).toEqual(['env', 'files'])
  })

  it('is plain JSON (no TypeBox symbols) and a fresh copy on each call', () => {
    const a = manifestJsonSchema()
    expect(JSON.parse(JSON.stringify(a))).toEqual(a)
    expect(Object.getOwnPropertySymbols(a)).toEqual([])
    ;(a.properties as Record<string, unknown>).name = 'mutated'
    expect((manifestJsonSchema().properties as Record<string, unknown>).name).not.toBe('mutated')
  })

  it('describes exactly the shape checkManifest walks (MANIFEST_SHAPE), annotations aside', () => {
    const annotations = new Set(['$schema', '$id', 'title', 'description', 'default'])
    const strip = (schema: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(schema)
          .filter(([key]) => !annotations.has(key))
          .map(([key, value]) => [
            key,
            key === 'properties' || key === 'patternProperties'
              ? Object.fromEntries(
                  Object.entries(value as Record<string, Record<string, unknown>>).map(([name, child]) => [
                    name,
                    strip(child),
                  ]),
                )
              : key === 'items'
                ? strip(value as Record<string, unknown>)
                : value,
          ]),
      )
    expect(strip(manifestJsonSchema())).toEqual(MANIFEST_SHAPE)
  })

  it('matches the committed schema/agentos-package.schema.json', () => {
    const committed = JSON.parse(
      readFileSync(join(repoRoot, 'schema', 'agentos-package.schema.json'), 'utf8'),
    )
    expect(committed).toEqual(manifestJsonSchema())
  })
})
