import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run the simulator package from its TypeScript sources (as tsconfig.json's `paths` does
    // for tsc and tsx), so no build is needed between an edit and a test run.
    alias: [{ find: /^@exorun\/simulator$/, replacement: fileURLToPath(new URL('./packages/simulator/src/index.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // `*.localhost` resolves to loopback in tests, so a simulator can be addressed by a DNS name.
    setupFiles: ['test/support/loopback-dns.ts'],
    // forks (not threads): integration tests spawn and signal child processes, and env such as
    // NODE_EXTRA_CA_CERTS only applies at process start.
    pool: 'forks',
    // A bound on a test that hangs, not a measure: tests wait for events, and on a busy two-core
    // machine (CI beside other jobs) a test that spawns a dozen CLI processes can take over a
    // minute (measured: 30 s was exceeded at a load average of 12).
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Integration files start worker processes and servers; running every file at once on a
    // two-core CI machine makes timings noisy. Unit files are quick either way.
    maxWorkers: 2,
    // .ci/run asks for a JSON report to print its "N passed, N failed" line.
    reporters: process.env['VITEST_JSON_OUTPUT'] ? ['default', 'json'] : ['default'],
    ...(process.env['VITEST_JSON_OUTPUT'] ? { outputFile: { json: process.env['VITEST_JSON_OUTPUT'] } } : {}),
  },
});
