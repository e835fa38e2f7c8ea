// Enforces the project layout: which folder may import which, where each third-party client may
// be used, that the simulator package stays out of the product's load path, and no circular
// imports. `npm run check:deps` runs it over src and packages/simulator/src.
/** @param {string} from @param {string[]} allowed */
function onlyImports(from, allowed) {
  const alternatives = ['core', ...allowed].join('|');
  return {
    name: `layer-${from}`,
    comment: `src/${from} may import only: ${['core', ...allowed].join(', ')} (layout table)`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: '^src/', pathNot: `^src/(${from}|${alternatives})/` },
  };
}

/** @param {string} pkg @param {string[]} folders */
function confine(pkg, folders) {
  return {
    name: `confine-${pkg.replace(/[^a-z0-9]+/gi, '-')}`,
    comment: `${pkg} may be used only in src/{${folders.join(',')}} (third-party confinement)`,
    severity: 'error',
    from: { path: '^src/', pathNot: `^src/(${folders.join('|')})/` },
    to: { path: `node_modules/${pkg}/` },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make start-up order and mocking fragile; type-only imports count too.',
      from: {},
      to: { circular: true },
    },
    {
      // A folder's index.ts is its public surface: other folders import what it exports, never
      // a module behind it. (A subfolder with its own index, such as worker/run, is a folder too;
      // a subfolder may import its parent's modules directly.)
      name: 'no-deep-imports',
      severity: 'error',
      comment: 'Import another folder through its index.ts.',
      from: { path: '^src/([^/]+)/' },
      // A dynamic import() may load one module lazily (the dashboard, only when it is enabled).
      to: { path: '^src/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'], dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'no-deep-imports-into-worker-run',
      severity: 'error',
      comment: 'Import src/worker/run through its index.ts.',
      from: { path: '^src/', pathNot: '^src/worker/run/' },
      to: { path: '^src/worker/run/', pathNot: '^src/worker/run/index\\.ts$' },
    },
    {
      name: 'core-imports-nothing-internal',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    onlyImports('config', []),
    onlyImports('jobs', ['config']),
    onlyImports('auth', []),
    onlyImports('exchange', []),
    onlyImports('limits', []),
    onlyImports('storage', []),
    onlyImports('queue', []),
    // Notifications (webhooks): sent by workers (failed runs) and the scheduler (missed runs).
    onlyImports('notify', ['config']),
    // storage: the daily retention prune; notify: missed-run alerts (both run by the scheduler).
    onlyImports('scheduler', ['config', 'jobs', 'queue', 'storage', 'notify']),
    // Operator surfaces (HTTP endpoint, health, status): read-only views over queues and limits.
    onlyImports('ops', ['config', 'queue', 'limits']),
    {
      // A production worker must not load a fake Microsoft 365: `exorun simulate` and
      // `cloud: simulated` load the package with `await import()` when they need it.
      name: 'src-loads-simulator-only-dynamically',
      severity: 'error',
      comment: 'src/ may reach @exorun/simulator only through a dynamic import() (src/worker/simulator-package.ts).',
      from: { path: '^src/' },
      to: { path: '^(packages/simulator/|node_modules/@exorun/simulator/)', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'simulator-stays-self-contained',
      severity: 'error',
      comment: 'The simulator package is a stand-in for Microsoft 365; it must not depend on the product or its tests.',
      from: { path: '^packages/simulator/' },
      to: { path: '^(src|test|bench)/' },
    },
    {
      name: 'worker-never-imports-scheduler',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/scheduler/' },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    confine('bullmq', ['queue', 'scheduler', 'worker']),
    confine('undici', ['exchange']),
    confine('fast-xml-parser', ['exchange', 'storage']),
    confine('@azure/msal-node', ['auth']),
    confine('ioredis', ['queue', 'limits', 'auth']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    exclude: { path: '^(dist|node_modules|packages/[^/]+/dist)/' },
  },
};
