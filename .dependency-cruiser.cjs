/**
 * The layers of docs/design.md §8, as rules (`npm run lint:layers`, run by .ci/run).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No module imports itself through others (type-only imports included).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'table-imports-nothing-above-it',
      severity: 'error',
      comment: 'src/table/ is the bottom layer: it may import only itself, src/errors.ts and src/util/.',
      from: { path: '^src/table/' },
      to: { path: '^src/', pathNot: ['^src/table/', '^src/errors\\.ts$', '^src/util/'] },
    },
    {
      name: 'memory-and-persist-never-import-front-ends',
      severity: 'error',
      comment: 'src/memory/ and src/persist/ sit beside the table: never src/server/, src/commands/, src/client/, src/cli/ or src/protocol/.',
      from: { path: '^src/(memory|persist)/' },
      to: { path: '^src/(server|commands|client|cli|protocol)/' },
    },
    {
      name: 'memory-never-imports-persist',
      severity: 'error',
      from: { path: '^src/memory/' },
      to: { path: '^src/persist/' },
    },
    {
      name: 'commands-call-the-table-only',
      severity: 'error',
      comment: 'src/commands/ calls the table (and the policy module for stats); never a front end or persistence.',
      from: { path: '^src/commands/' },
      to: { path: '^src/(server|client|cli|protocol|persist)/|^src/shared-cache\\.ts$' },
    },
    {
      name: 'front-ends-go-through-commands',
      severity: 'error',
      comment: 'src/server/ parses, calls src/commands/, and encodes: it never reaches src/table/ or src/memory/ itself.',
      from: { path: '^src/server/' },
      to: { path: '^src/(table|memory)/' },
    },
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment: 'src/protocol/ encodes and decodes frames: no cache, no server.',
      from: { path: '^src/protocol/' },
      to: { path: '^src/(table|memory|persist|commands|server)/|^src/shared-cache\\.ts$' },
    },
    {
      name: 'client-is-standalone',
      severity: 'error',
      comment: 'src/client/ runs in browsers and other processes: only the protocol, the errors and util.',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: ['^src/client/', '^src/protocol/', '^src/errors\\.ts$', '^src/util/'] },
    },
    {
      name: 'code-cache-is-a-front-end',
      severity: 'error',
      comment: 'src/code-cache/ reaches the cache through shared-cache.ts and src/commands/ (docs/design.md §9).',
      from: { path: '^src/code-cache/' },
      to: { path: '^src/(table|memory|persist|server|protocol|client|cli)/' },
    },
    {
      name: 'nothing-below-imports-the-code-cache',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/code-cache/'] },
      to: { path: '^src/code-cache/' },
    },
    {
      name: 'nothing-imports-the-server-from-below',
      severity: 'error',
      from: { path: '^src/(table|memory|persist|commands|protocol|client)/|^src/shared-cache\\.ts$' },
      to: { path: '^src/server/|^workers/' },
    },
    {
      name: 'no-orphans-in-src',
      severity: 'error',
      comment: 'Every module under src/ is used (entry points excepted).',
      from: { orphan: true, path: '^src/', pathNot: ['^src/index\\.ts$', '^src/client/index\\.ts$', '^src/code-cache/index\\.ts$', '^src/cli/', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs'] },
  },
};
