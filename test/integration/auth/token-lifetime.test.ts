import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginWithDeviceCode } from '../../../src/auth/login.js';
import { createSessionStore } from '../../../src/auth/session-store.js';
import { loadConfigFile } from '../../../src/config/load.js';
import type { ExorunConfig } from '../../../src/config/model.js';
import { createSilentLogger } from '../../../src/core/logger.js';
import { createHttpTransport } from '../../../src/exchange/http-transport.js';
import { planRun } from '../../../src/jobs/plan.js';
import { createRunQueue, waitForRun } from '../../../src/queue/run-queue.js';
import { startSimulator, type Simulator } from '@exorun/simulator';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { startWorkerService, type WorkerService } from '../../../src/worker/worker-service.js';
import { readJsonl, readManifests } from '../../support/outputs.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/**
 * Tokens live 60 seconds; each run pages for about two and a half minutes (150 one-object pages,
 * one second apiece). Tokens must be renewed between pages, never mid-flight, never too late.
 */
const pages = 150;
const appOnly = 'lifetime-app.onmicrosoft.com';
const delegated = 'lifetime-user.onmicrosoft.com';

let simulator: Simulator;
let worker: WorkerService;
let redis: Redis;
let dir: string;
let config: ExorunConfig;
const prefix = uniquePrefix('lifetime');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-lifetime-'));
  simulator = await startSimulator({ tokenLifetimeSec: 60, deviceCodeIntervalSec: 1 });
  const stateFile = path.join(dir, 'simulator.json');
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
  await writeFile(
    path.join(dir, 'jobs.yaml'),
    `version: 1
defaults: { output: { directory: ${JSON.stringify(path.join(dir, 'outputs'))}, formats: [jsonl] } }
tenants:
  app: { organization: ${appOnly}, cloud: simulated, simulator: { mailboxes: ${pages}, latencyMs: 1000 } }
  user:
    organization: ${delegated}
    cloud: simulated
    simulator: { mailboxes: ${pages}, latencyMs: 1000 }
    auth: { type: delegated, account: admin@${delegated} }
jobs:
  app-pages: { tenant: app, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 1 }
  user-pages: { tenant: user, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 1 }
`,
  );
  config = await loadConfigFile(path.join(dir, 'jobs.yaml'));

  // The admin signs in once, the way `exorun login user` does.
  const secretKey = randomBytes(32);
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  await simulator.provisionTenant({ organization: delegated, mailboxCount: pages, latencyMs: 1000 });
  const transport = createHttpTransport({ extraCaPem: [simulator.caCertPem] });
  const login = await loginWithDeviceCode(
    {
      authorityHost: simulator.urls.login,
      tenant: delegated,
      tenantName: 'user',
      clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
      account: `admin@${delegated}`,
      scopes: ['https://outlook.office365.com/.default'],
      transport,
    },
    (prompt) => void simulator.approveDeviceCode(prompt.userCode),
  );
  await transport.close();
  await createSessionStore({ redis, prefix, secretKey }).save({ organization: delegated, account: login.account }, login.cache, {
    tenant: 'user',
    cloud: 'simulated',
    clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
    refreshed: false,
  });

  worker = await startWorkerService({
    redisUrl: testRedisUrl(),
    prefix,
    logger: createSilentLogger(),
    config: () => config,
    concurrency: 4,
    leaseTtlMs: 10_000,
    lockDurationMs: 10_000,
    simulatorStateFile: stateFile,
    secretKey,
  });
}, 60_000);

afterAll(async () => {
  await worker?.close(5_000);
  redis?.disconnect();
  await simulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('60-second tokens, runs paging for minutes', () => {
  it('renews tokens between pages, app-only and delegated, losing or repeating no page', async () => {
    const runs = createRunQueue({ connection: redis, prefix });
    const runIds: string[] = [];
    for (const job of ['app-pages', 'user-pages']) {
      const plan = planRun(config, job, { trigger: 'manual', nowMs: Date.now() });
      await runs.enqueue(plan);
      runIds.push(plan.runId);
    }
    const results = await Promise.all(runIds.map((runId) => waitForRun({ connection: redis, prefix, runId, timeoutMs: 400_000 })));
    await runs.close();
    expect(results.map((result) => result.failedReason ?? result.state)).toEqual(['completed', 'completed']);

    const manifests = await readManifests(path.join(dir, 'outputs'));
    for (const organization of [appOnly, delegated]) {
      const runId = runIds[organization === appOnly ? 0 : 1]!;
      const manifest = manifests.find((candidate) => candidate.runId === runId)!;
      expect(manifest.pageCount).toBe(pages);
      const stored = await readJsonl(path.join(dir, 'outputs', manifest.files[0]!.path));
      expect(stored).toEqual([...simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })]);

      const stats = simulator.recorder.stats(organization, 'exo');
      expect(stats.expiredTokenUses).toBe(0);
      const calls = simulator.recorder.calls().filter((call) => call.tenantId === simulator.tenantData(organization)!.tenantId);
      // Every page was asked for exactly once and answered 200: no 401, no retry.
      expect(calls.map((call) => call.status).filter((status) => status !== 200)).toEqual([]);
      expect(calls).toHaveLength(pages);
      // Each request went out with at least a few seconds of token life left, and tokens changed.
      for (const call of calls) expect(call.tokenExpiresAt! - call.at).toBeGreaterThan(5_000);
      expect(new Set(calls.map((call) => call.tokenIssuedAt)).size).toBeGreaterThanOrEqual(3);
    }
  }, 420_000);
});
