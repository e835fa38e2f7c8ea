import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import type { Manifest } from '../../../src/storage/index.js';
import { planRun } from '../../../src/jobs/plan.js';
import { createRunQueue, RUNS_QUEUE, waitForRun, type RunQueue } from '../../../src/queue/run-queue.js';
import { startSimulator, type Simulator } from '@exorun/simulator';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { eventually, spawnExorun, type ExorunProcess } from '../../support/processes.js';
import { readJsonl, readManifests } from '../../support/outputs.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/**
 * The walking skeleton end to end: a scheduler process and two worker processes (real BullMQ on
 * real Redis) run jobs against the simulator over TLS, with msal-node certificate sign-in.
 */

const organization = `e2e-${randomUUID().slice(0, 8)}.onmicrosoft.com`;
const mailboxes = 120;

let dir: string;
let outputs: string;
let simulator: Simulator;
let connection: Redis;
let runs: RunQueue;
let env: Record<string, string>;
const processes: ExorunProcess[] = [];

function jobsYaml(): string {
  return `version: 1
defaults:
  output: { directory: ${JSON.stringify(outputs)} }
tenants:
  sim:
    organization: ${organization}
    cloud: simulated
    simulator: { seed: 7, mailboxes: ${mailboxes}, latencyMs: 60 }
    limits: { exo: 3, ipps: 3 }
jobs:
  every-two-seconds:
    schedule: "*/2 * * * * *"
    tenant: sim
    cmdlet: Get-AcceptedDomain
    output: { formats: [jsonl] }
  all-mailboxes:
    tenant: sim
    cmdlet: Get-Mailbox
    parameters: { ResultSize: Unlimited }
    pageSize: 40
  slow-mailboxes:
    tenant: sim
    cmdlet: Get-Mailbox
    parameters: { ResultSize: Unlimited }
    pageSize: 4
    output: { formats: [jsonl] }
  retention:
    tenant: sim
    service: ipps
    cmdlet: Get-RetentionCompliancePolicy
`;
}

function startWorker(): ExorunProcess {
  const worker = spawnExorun(['worker', '--concurrency', '8', '--drain', '5'], env);
  processes.push(worker);
  return worker;
}

async function enqueue(job: string): Promise<string> {
  const config = await loadConfigFile(path.join(dir, 'jobs.yaml'));
  const plan = planRun(config, job, { trigger: 'manual', nowMs: Date.now() });
  await runs.enqueue(plan);
  return plan.runId;
}

async function finished(runId: string, timeoutMs = 180_000): Promise<Manifest> {
  const result = await waitForRun({ connection, prefix: env['EXORUN_PREFIX']!, runId, timeoutMs });
  expect(result.failedReason ?? '').toBe('');
  expect(result.state).toBe('completed');
  const manifest = (await readManifests(outputs)).find((candidate) => candidate.runId === runId);
  expect(manifest?.status).toBe('succeeded');
  return manifest!;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-e2e-'));
  outputs = path.join(dir, 'outputs');
  await writeFile(path.join(dir, 'jobs.yaml'), jobsYaml());
  simulator = await startSimulator();
  const stateFile = path.join(dir, 'simulator.json');
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
  env = {
    REDIS_URL: testRedisUrl(),
    EXORUN_PREFIX: uniquePrefix('e2e'),
    EXORUN_CONFIG: path.join(dir, 'jobs.yaml'),
    EXORUN_SIMULATOR: stateFile,
    EXORUN_STATE_DIR: path.join(dir, '.exorun'),
    EXORUN_LEASE_TTL_MS: '4000',
    EXORUN_LOCK_DURATION_MS: '4000',
  };
  connection = new Redis(env['REDIS_URL']!, { maxRetriesPerRequest: null });
  runs = createRunQueue({ connection, prefix: env['EXORUN_PREFIX']! });

  const scheduler = spawnExorun(['scheduler'], env);
  processes.push(scheduler);
  const workers = [startWorker(), startWorker()];
  await Promise.all([scheduler.waitForOutput(/job schedulers reconciled/), ...workers.map((worker) => worker.waitForOutput(/worker ready/))]);
}, 360_000);

afterAll(async () => {
  await Promise.all(processes.map((child) => child.stop()));
  await runs?.close();
  connection?.disconnect();
  await simulator?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('end to end: jobs.yaml → scheduler → BullMQ → workers → simulator → files', () => {
  it('fires a schedule with a seconds field and stores its output with a manifest', async () => {
    const scheduled = await eventually(
      async () => {
        const found = (await readManifests(outputs)).filter((manifest) => manifest.job === 'every-two-seconds' && manifest.status === 'succeeded');
        return found.length >= 2 ? found : undefined;
      },
      120_000,
      'two scheduled runs of every-two-seconds',
    );
    const fireTimes = scheduled.map((manifest) => Date.parse(manifest.scheduledFor ?? ''));
    for (const time of fireTimes) expect(new Date(time).getUTCSeconds() % 2).toBe(0);
    expect(new Set(fireTimes).size).toBe(scheduled.length);
    const expected = [...simulator.tenantData(organization)!.results('Get-AcceptedDomain')];
    const first = scheduled[0]!;
    expect(first.objectCount).toBe(expected.length);
    expect(first.files.map((file) => file.format)).toEqual(['jsonl']);
    expect(await readJsonl(path.join(outputs, first.files[0]!.path))).toEqual(expected);
  }, 180_000);

  it('stores exactly the simulator’s seeded objects, across pages, in JSONL and CSV', async () => {
    const runId = await enqueue('all-mailboxes');
    const manifest = await finished(runId);
    const expected = [...simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })];
    expect(expected).toHaveLength(mailboxes);
    expect(manifest.objectCount).toBe(mailboxes);
    expect(manifest.pageCount).toBe(Math.ceil(mailboxes / 40));
    const jsonl = manifest.files.find((file) => file.format === 'jsonl')!;
    expect(await readJsonl(path.join(outputs, jsonl.path))).toEqual(expected);
    expect(manifest.files.find((file) => file.format === 'csv')?.objects).toBe(mailboxes);
    expect(manifest.requestIds.length).toBe(manifest.pageCount);
  }, 240_000);

  it('follows the IPPS redirect to the regional host and stores the policies', async () => {
    const manifest = await finished(await enqueue('retention'));
    const expected = [...simulator.tenantData(organization)!.results('Get-RetentionCompliancePolicy')];
    expect(manifest.objectCount).toBe(expected.length);
    const jsonl = manifest.files.find((file) => file.format === 'jsonl')!;
    expect(await readJsonl(path.join(outputs, jsonl.path))).toEqual(expected);
  }, 240_000);

  it('runs 20 queued runs for one tenant with never more than 3 calls in flight, and completes them all', async () => {
    simulator.recorder.reset();
    const runIds: string[] = [];
    for (let index = 0; index < 20; index += 1) runIds.push(await enqueue('all-mailboxes'));
    const manifests = await Promise.all(runIds.map((runId) => finished(runId, 300_000)));
    expect(manifests.every((manifest) => manifest.objectCount === mailboxes)).toBe(true);
    const stats = simulator.recorder.stats(organization, 'exo');
    expect(stats.peakInFlight).toBeLessThanOrEqual(3);
    // Two workers with eight slots each really did run the tenant in parallel, up to its limit.
    expect(stats.peakInFlight).toBeGreaterThanOrEqual(2);
    expect(stats.refusedConcurrency).toBe(0);
    // The scheduled job keeps calling in the background; count this test's cmdlet only.
    const mailboxCalls = simulator.recorder.calls().filter((call) => call.cmdlet.toLowerCase() === 'get-mailbox' && call.status === 200);
    expect(mailboxCalls).toHaveLength(20 * Math.ceil(mailboxes / 40));
  }, 360_000);

  it('completes a run exactly once when the worker running it is killed with SIGKILL', async () => {
    const queue = new Queue(RUNS_QUEUE, { connection, prefix: env['EXORUN_PREFIX']! });
    try {
      const runId = await enqueue('slow-mailboxes');
      // Wait until a worker is a few pages in, then kill that very process.
      const runningOn = await eventually(
        async () => {
          const job = await Job.fromId(queue, runId);
          const progress = job?.progress as { pages?: number } | undefined;
          return job?.processedBy && (progress?.pages ?? 0) >= 3 ? job.processedBy : undefined;
        },
        120_000,
        'the slow run to be a few pages in',
        20,
      );
      const victim = processes.find((child) => runningOn.endsWith(`:${child.pid}`));
      expect(victim, `worker ${runningOn} not among ${processes.map((child) => child.pid).join(', ')}`).toBeDefined();
      victim!.child.kill('SIGKILL');
      await victim!.exited();
      // Killed mid-write: only dot-prefixed temporaries of this run exist, no file under a final name.
      const finalNames = async (): Promise<string[]> =>
        (await readdir(outputs, { recursive: true })).map((entry) => path.basename(entry)).filter((name) => name.startsWith(`${runId}.`));
      expect(await finalNames()).toEqual([]);
      startWorker();

      const manifest = await finished(runId, 240_000);
      expect(manifest.objectCount).toBe(mailboxes);
      const jsonl = manifest.files.find((file) => file.format === 'jsonl')!;
      const stored = await readJsonl(path.join(outputs, jsonl.path));
      expect(stored).toEqual([...simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })]);
      // One complete set under final names, nothing half-written left behind.
      const folder = path.dirname(path.join(outputs, jsonl.path));
      const leftovers = (await readdir(folder)).filter((name) => name.includes(runId));
      expect(leftovers.sort()).toEqual([`${runId}.jsonl`, `${runId}.manifest.json`]);
      const job = await Job.fromId(queue, runId);
      expect(await job?.getState()).toBe('completed');
      expect(simulator.recorder.stats(organization, 'exo').peakInFlight).toBeLessThanOrEqual(3);
    } finally {
      await queue.close();
    }
  }, 360_000);
});
