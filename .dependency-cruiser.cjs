/**
 * The layers, top to bottom. A module may import from its own layer and from the layers
 * below it, never from one above. `npm run lint:deps` checks this (CI runs it).
 *
 *   functions   FC handlers: parse the trigger event, call the core, map the result
 *   fc          FC event adapters and the per-instance runtime
 *   http        the API core on plain request/response objects
 *   watch       the timer's sweep: listings -> request tracking and alert evaluation
 *   alerts      rules, lifecycle, silences, inhibition, notification planning, outbox, channels
 *   pipeline    submit, provision (exactly once), queue intake, dispatch
 *   store       PostgreSQL / PGlite behind the store's own types and errors
 *   requests    the request model, its state machine, validation, sealed secrets
 *   config      environment -> typed configuration
 *   cloud       the ENS / ACK client, cluster identity, node-pool model, cloud errors
 *   base        clock, redact, log, json, concurrent, text, labels
 */
const LAYERS = [
  ['functions', '^functions/'],
  ['fc', '^src/fc/'],
  ['http', '^src/http/'],
  ['watch', '^src/watch/'],
  ['alerts', '^src/alerts/'],
  ['pipeline', '^src/pipeline/'],
  ['store', '^src/store/'],
  ['requests', '^src/requests/'],
  ['config', '^src/config(-routes)?\\.ts$'],
  ['cloud', '^src/cloud/'],
  ['base', '^src/(clock|redact|log|json|concurrent|text|labels)\\.ts$'],
];

const upward = LAYERS.slice(1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} may not import from a layer above it (${LAYERS.slice(0, i + 1).map(([n]) => n).join(', ')})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(0, i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-circular',
      comment: 'modules may not depend on each other in a circle',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'product-code-stays-product-code',
      comment: 'what is deployed (functions, src) never imports the local tools, tests or benchmarks',
      severity: 'error',
      from: { path: '^(functions|src)/' },
      to: { path: '^(sandbox|test|bench|scripts)/' },
    },
    {
      name: 'cli-is-a-thin-client',
      comment: 'the command line talks to the HTTP API only: no store, cloud or other code of the system',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(src|functions|sandbox|test|bench|scripts)/' },
    },
    {
      name: 'every-source-file-in-a-layer',
      comment: 'a new file under src/ must belong to one of the layers above (add its folder to LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map(([, p]) => `(${p})`).join('|') },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
