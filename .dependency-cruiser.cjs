// The house rules of src/ (README, "Layout"), checked by `npm run lint`: no import cycles, and every
// import points down this list of layers. A folder may import its own files and any lower layer.
const LAYERS = [
  ['util', 'errors.ts'],
  ['format'],
  ['software.ts', 'archive'],
  ['package'],
  ['output'],
  ['wasm', 'snapshot-safety'],
  ['pack', 'runtime'],
  ['run'],
  ['check'],
  ['index.ts'],
  ['cli'],
  ['commands'],
]

/** `^src/(a/|b\.ts$)`-style pattern of some layer entries (folders and top-level files). */
const pattern = (entries) =>
  `^src/(${entries.map((e) => (e.endsWith('.ts') ? `${e.replace('.', '\\.')}$` : `${e}/`)).join('|')})`

const upward = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `down-only:${layer.join('+')}`,
  comment: `${layer.join(' and ')} may import only lower layers (.dependency-cruiser.cjs LAYERS)`,
  severity: 'error',
  from: {path: pattern(layer)},
  to: {path: pattern(LAYERS.slice(index + 1).flat())},
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: split out the shared part into a leaf both sides import',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    ...upward,
    {
      name: 'leaf-format-util',
      comment: 'format/ and util/ are the floor: they import nothing of ours but errors.ts',
      severity: 'error',
      from: {path: '^src/(format|util)/'},
      to: {path: '^src/', pathNot: ['^src/errors\\.ts$', '^src/$1/']},
    },
    {
      name: 'engines-apart',
      comment:
        'run/vm/ is the VM every engine shares; the emulation and the real-runtime engine do not import each other',
      severity: 'error',
      from: {path: '^src/run/(vm|engine\\.ts|errors\\.ts)'},
      to: {path: '^src/run/(emulation|agentos)/'},
    },
    {
      name: 'emulation-not-agentos',
      severity: 'error',
      from: {path: '^src/run/emulation/'},
      to: {path: '^src/run/agentos/'},
    },
    {
      name: 'agentos-not-emulation',
      severity: 'error',
      from: {path: '^src/run/agentos/'},
      to: {path: '^src/run/emulation/'},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    includeOnly: '^src/',
    tsConfig: {fileName: 'tsconfig.json'},
    tsPreCompilationDeps: true,
    // Dynamic import() counts: a lazy import still ties two modules together.
    exoticRequireStrings: [],
  },
}
