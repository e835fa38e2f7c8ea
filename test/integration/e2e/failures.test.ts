import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '@exorun/simulator';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { planRun } from '../../../src/jobs/plan.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/queue/embedded-redis.js';
import { createRunHistory } from '../../../src/queue/run-history.js';
import { createRunQueue, RUNS_QUEUE, waitForRun, type RunQueue } from '../../../src/queue/run-queue.js';
import type { Manifest } from '../../../src/storage/index.js';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { readJsonl, readManifests } from '../../support/outputs.js';
import { eventually, spawnExorun, type ExorunProcess } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';

/**
 * Failures a deployment meets, with real processes and a Redis of the test's own (so it can be
 * restarted with its append-only file): a Redis restart while runs page, a run whose worker is
 * killed twice, a drain that must leave every finished run's history final.
 */

const organization = `chaos-${randomUUID().slice(0, 8)}.onmicrosoft.com`;
const mailboxes = 60;

let dir: string;
let outputs: string;
let redisDir: string;
let redis: EmbeddedRedis;
let redisPort: number;
let simulator: Simulator;
let env: Record<string, string>;
const processes: ExorunProcess[] = [];

function startWorker(extraEnv: Record<string, string> = {}, drainSeconds = 5): ExorunProcess {
  const worker = spawnExorun(['worker', '--concurrency', '8', '--drain', String(drainSeconds)], { ...env, ...extraEnv });
  processes.push(worker);
  return worker;
}

async function withQueue<T>(work: (connection: Redis, runs: RunQueue, queue: Queue) => Promise<T>): Promise<T> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const runs = createRunQueue({ connection, prefix: env['EXORUN_PREFIX']! });
  const queue = new Queue(RUNS_QUEUE, { connection, prefix: env['EXORUN_PREFIX']! });
  try {
    return await work(connection, runs, queue);
  } finally {
    await queue.close();
    await runs.close();
    connection.disconnect();
  }
}

async function enqueue(job: string, count = 1): Promise<string[]> {
  const config = await loadConfigFile(env['EXORUN_CONFIG']!);
  return withQueue(async (_connection, runs) => {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const plan = planRun(config, job, { trigger: 'manual', nowMs: Date.now(), nonce: `${index}${randomUUID().slice(0, 4)}` });
      await runs.enqueue(plan);
      ids.push(plan.runId);
    }
    return ids;
  });
}

/** Every run completed, each with exactly one complete output set holding each object once. */
async function expectCompletedOnce(runIds: readonly string[]): Promise<Manifest[]> {
  const results = await withQueue((connection) =>
    Promise.all(runIds.map((runId) => waitForRun({ connection, prefix: env['EXORUN_PREFIX']!, runId, timeoutMs: 300_000 }))),
  );
  expect(results.map((result) => result.failedReason ?? result.state)).toEqual(runIds.map(() => 'completed'));
  const manifests = (await readManifests(outputs)).filter((manifest) => runIds.includes(manifest.runId));
  expect(manifests.map((manifest) => manifest.runId).sort()).toEqual([...runIds].sort());
  const expected = [...simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })];
  for (const manifest of manifests) {
    expect(manifest.status).toBe('succeeded');
    expect(await readJsonl(path.join(outputs, manifest.files[0]!.path))).toEqual(expected);
  }
  const temporaries = (await readdir(outputs, { recursive: true })).filter((entry) => path.basename(entry).startsWith('.'));
  expect(temporaries).toEqual([]);
  return manifests;
}

/** Waits until the run is active on some worker and a few pages in; returns that worker's name. */
async function runningOn(runId: string, minPages: number, notOn?: string): Promise<string> {
  return withQueue((_connection, _runs, queue) =>
    eventually(
      async () => {
        const job = await Job.fromId(queue, runId);
        const progress = job?.progress as { pages?: number } | undefined;
        const on = job?.processedBy;
        return on && on !== notOn && (await job.getState()) === 'active' && (progress?.pages ?? 0) >= minPages ? on : undefined;
      },
      240_000,
      `run ${runId} active${notOn ? ` on another worker than ${notOn}` : ''} with ${minPages} pages`,
      25,
    ),
  );
}

function processNamed(worker: string): ExorunProcess {
  const found = processes.find((child) => worker.endsWith(`:${child.pid}`));
  if (!found) throw new Error(`worker ${worker} is not one of this test's processes`);
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-failures-'));
  outputs = path.join(dir, 'outputs');
  redisDir = path.join(dir, 'redis');
  redis = await startEmbeddedRedis({ persistent: true, dir: redisDir });
  redisPort = redis.port;
  simulator = await startSimulator();
  const stateFile = path.join(dir, 'simulator.json');
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
  await writeFile(
    path.join(dir, 'jobs.yaml'),
    `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  sim: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: ${mailboxes}, latencyMs: 150 }, limits: { exo: 3 } }
jobs:
  slow-pages: { tenant: sim, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 4 }
`,
  );
  env = {
    REDIS_URL: redis.url,
    EXORUN_PREFIX: uniquePrefix('failures'),
    EXORUN_CONFIG: path.join(dir, 'jobs.yaml'),
    EXORUN_SIMULATOR: stateFile,
    EXORUN_STATE_DIR: path.join(dir, '.exorun'),
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((child) => child.stop('SIGKILL')));
  await redis?.stop();
  await simulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('failures a deployment meets', () => {
  it('a Redis restart (same append-only file) while runs page pauses them; every run completes once', async () => {
    // Leases and locks outlive the outage; a slot's holder keeps sending on its local validity.
    const restartEnv = { EXORUN_LEASE_TTL_MS: '20000', EXORUN_LOCK_DURATION_MS: '20000' };
    const workers = [startWorker(restartEnv), startWorker(restartEnv)];
    await Promise.all(workers.map((worker) => worker.waitForOutput(/worker ready/)));
    const runIds = await enqueue('slow-pages', 6);
    await runningOn(runIds[0]!, 2);

    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    redis = await startEmbeddedRedis({ persistent: true, dir: redisDir, port: redisPort });

    const manifests = await expectCompletedOnce(runIds);
    // Paused, not failed: no run spent an attempt on the outage.
    expect(manifests.map((manifest) => manifest.attempt)).toEqual(runIds.map(() => 1));
    for (const worker of workers) {
      expect(worker.output()).not.toMatch(/INTERNAL/);
      expect(worker.child.exitCode).toBeNull();
    }
    await Promise.all(workers.map((worker) => worker.stop()));
  }, 400_000);

  it('a run whose worker is killed twice still completes, once', async () => {
    const fast = { EXORUN_LEASE_TTL_MS: '4000', EXORUN_LOCK_DURATION_MS: '3000' };
    startWorker(fast);
    await processes.at(-1)!.waitForOutput(/worker ready/);
    const [runId] = await enqueue('slow-pages');
    const first = await runningOn(runId!, 2);
    startWorker(fast);
    processNamed(first).child.kill('SIGKILL');
    const second = await runningOn(runId!, 2, first);
    startWorker(fast);
    processNamed(second).child.kill('SIGKILL');
    const [manifest] = await expectCompletedOnce([runId!]);
    expect(manifest!.attempt).toBeGreaterThanOrEqual(1);
    await withQueue(async (_connection, _runs, queue) => {
      const job = await Job.fromId(queue, runId!);
      expect(await job?.getState()).toBe('completed');
      expect(job?.stalledCounter).toBeGreaterThanOrEqual(2);
    });
  }, 400_000);

  it('a drain lets the active run finish and leaves its history final', async () => {
    const worker = startWorker({}, 120);
    await worker.waitForOutput(/worker ready/);
    const [runId] = await enqueue('slow-pages');
    await runningOn(runId!, 2);
    worker.child.kill('SIGTERM');
    expect(await worker.exited()).toBe(0);
    await expectCompletedOnce([runId!]);
    const history = await withQueue((connection) => createRunHistory({ redis: connection, prefix: env['EXORUN_PREFIX']! }).get(runId!));
    expect(history?.status).toBe('succeeded');
  }, 300_000);
});
