// Layer rules for src/ (STYLE.md §3.1), checked by `make lint` (depcruise). A layer may import
// itself, shared/ (except core, which stays pure) and the layers listed for it; nothing else.
//   shared ← core ← state ← model ← pipeline ← kafka ← app ← cli   (io, sim and eval beside them)
/** @type {Record<string, string[]>} */
const MAY_IMPORT = {
  shared: [],
  core: [],
  state: ['shared', 'core'],
  model: ['shared', 'core'],
  pipeline: ['shared', 'core', 'state', 'model'],
  io: ['shared', 'core'],
  sim: ['shared', 'core', 'io'],
  kafka: ['shared', 'core', 'state', 'model', 'pipeline', 'io'],
  eval: ['shared', 'core', 'state', 'model', 'pipeline', 'io', 'sim'],
  app: ['shared', 'core', 'state', 'model', 'pipeline', 'io', 'kafka'],
  cli: ['shared', 'core', 'state', 'model', 'pipeline', 'io', 'sim', 'eval', 'kafka', 'app'],
  tools: ['shared', 'core', 'state', 'model', 'pipeline', 'io', 'sim', 'eval', 'cli'],
  // Example consumers of our topics: written against the contracts alone, like a consumer team.
  examples: [],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(MAY_IMPORT).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      comment: `src/${layer} may import only ${[layer, ...allowed].map((l) => `src/${l}`).join(', ')}`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: { path: '^src/', pathNot: `^src/(${[layer, ...allowed].join('|')})/` },
    })),
    {
      name: 'no-unknown-layer',
      comment: 'every folder of src/ is a layer listed in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${Object.keys(MAY_IMPORT).join('|')})/` },
      to: {},
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.py$|\\.json$' },
  },
};
