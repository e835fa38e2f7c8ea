// Enforces the layout table in ../shared/design.md: which folder may import which, where each
// third-party client may be used, and no circular imports. `npm run check:deps` runs it.
/** @param {string} from @param {string[]} allowed */
function onlyImports(from, allowed) {
  const alternatives = ['core', ...allowed].join('|');
  return {
    name: `layer-${from}`,
    comment: `src/${from} may import only: ${['core', ...allowed].join(', ')} (design.md layout table)`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: '^src/', pathNot: `^src/(${from}|${alternatives})/` },
  };
}

/** @param {string} pkg @param {string[]} folders */
function confine(pkg, folders) {
  return {
    name: `confine-${pkg.replace(/[^a-z0-9]+/gi, '-')}`,
    comment: `${pkg} may be used only in src/{${folders.join(',')}} (design.md third-party confinement)`,
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
      comment: 'Circular imports make start-up order and mocking fragile.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
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
    onlyImports('simulator', []),
    // Notifications (webhooks): sent by workers (failed runs) and the scheduler (missed runs).
    onlyImports('notify', ['config']),
    // storage: the daily retention prune; notify: missed-run alerts (both run by the scheduler).
    onlyImports('scheduler', ['config', 'jobs', 'queue', 'storage', 'notify']),
    // Operator surfaces (HTTP endpoint, health, status): read-only views over queues and limits.
    onlyImports('ops', ['config', 'queue', 'limits']),
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
    confine('undici', ['exchange', 'simulator']),
    confine('fast-xml-parser', ['exchange', 'simulator', 'storage']),
    confine('@azure/msal-node', ['auth']),
    confine('ioredis', ['queue', 'limits', 'auth']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
