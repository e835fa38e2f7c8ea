import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../../src/core/time.js';
import { createRedisTenantLimiter } from '../../../src/limits/redis-limiter.js';
import { RUNS_QUEUE } from '../../../src/queue/run-queue.js';
import { createHarness, type Harness } from '../../support/harness.js';
import { readJsonl } from '../../support/outputs.js';
import { eventually, spawnExorun, type ExorunProcess } from '../../support/processes.js';

const organization = 'stops.onmicrosoft.com';
const mailboxes = 40;
let harness: Harness | undefined;
let processes: ExorunProcess[] = [];

afterEach(async () => {
  await Promise.all(
    processes.map(async (child) => {
      if (child.child.signalCode === null && child.child.exitCode === null) child.child.kill('SIGCONT');
      await child.stop('SIGKILL');
    }),
  );
  processes = [];
  await harness?.close();
  harness = undefined;
});

async function setUp(limit: number): Promise<Harness> {
  return createHarness({
    label: 'stops',
    jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  slow: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: ${mailboxes}, latencyMs: 200 }, limits: { exo: ${limit} } }
jobs:
  slow-mailboxes: { tenant: slow, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 2 }
`,
  });
}

function worker(h: Harness, args: string[] = []): ExorunProcess {
  const child = spawnExorun(
    ['worker', '--concurrency', '4', ...args],
    h.env({ EXORUN_LEASE_TTL_MS: '3000', EXORUN_LOCK_DURATION_MS: '3000', LOG_LEVEL: process.env['STOP_TEST_LOG_LEVEL'] ?? 'info' }),
  );
  processes.push(child);
  return child;
}

async function processedBy(h: Harness, runId: string, minimumPages: number): Promise<string> {
  const queue = new Queue(RUNS_QUEUE, { connection: h.redis, prefix: h.prefix });
  try {
    return await eventually(
      async () => {
        const job = await Job.fromId(queue, runId);
        const pages = (job?.progress as { pages?: number } | undefined)?.pages ?? 0;
        return job?.processedBy && pages >= minimumPages ? job.processedBy : undefined;
      },
      120_000,
      `${runId} to be ${minimumPages} pages in`,
      20,
    );
  } finally {
    await queue.close();
  }
}

async function expectOneCompleteSet(h: Harness, runId: string): Promise<void> {
  const manifest = await h.finished(runId, 180_000);
  const file = path.join(h.outputs, manifest.files[0]!.path);
  expect(await readJsonl(file)).toEqual([...h.simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })]);
  const names = (await readdir(path.dirname(file))).filter((name) => name.includes(runId));
  expect(names.sort()).toEqual([`${runId}.jsonl`, `${runId}.manifest.json`]);
}

/** The calls in flight together when more than two were, with the process each came from. */
function overlaps(h: Harness): string {
  const calls = h.simulator.recorder.calls();
  const lines: string[] = [];
  for (const call of calls) {
    const together = calls.filter((other) => other.at <= call.at && other.endedAt > call.at);
    if (together.length > 2) lines.push(together.map((other) => `${other.connectionId?.slice(0, 8)} ${other.at}-${other.endedAt} ${other.status}`).join(' | '));
  }
  return lines.join('\n');
}

describe('fencing: a lease holder stopped past its lease', () => {
  it('never lets a resumed worker exceed the tenant’s limit, and every run completes once', async () => {
    harness = await setUp(2);
    const [first, second] = [worker(harness), worker(harness)];
    await Promise.all([first.waitForOutput(/worker ready/), second.waitForOutput(/worker ready/)]);
    const runIds: string[] = [];
    for (let index = 0; index < 4; index += 1) runIds.push(await harness.enqueue('slow-mailboxes'));

    const holder = await processedBy(harness, runIds[0]!, 2);
    const frozen = processes.find((child) => holder.endsWith(`:${child.pid}`))!;
    frozen.child.kill('SIGSTOP');
    // Longer than the lease TTL and the BullMQ lock: the other worker takes the slots and the runs.
    await sleep(8_000);
    frozen.child.kill('SIGCONT');

    for (const runId of runIds) await expectOneCompleteSet(harness, runId);
    const stats = harness.simulator.recorder.stats(organization, 'exo');
    if (stats.peakInFlight > 2 && process.env['STOP_TEST_LOG_LEVEL']) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        '/tmp/stop-debug.log',
        processes.map((child) => `=== pid ${child.pid}\n${child.output()}`).join('\n') + `\n=== overlaps\n${overlaps(harness)}\n`,
      );
    }
    expect(stats.peakInFlight, overlaps(harness)).toBeLessThanOrEqual(2);
    expect(stats.refusedConcurrency).toBe(0);
    expect(frozen.output()).toMatch(/lease lost/);
  }, 480_000);
});

describe('graceful shutdown', () => {
  it('aborts a run that outlives the drain deadline, frees its slot at once and lets another worker finish it', async () => {
    harness = await setUp(1);
    const first = worker(harness, ['--drain', '1']);
    await first.waitForOutput(/worker ready/);
    const runId = await harness.enqueue('slow-mailboxes');
    await processedBy(harness, runId, 2);

    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
    expect(first.output()).toMatch(/aborting them/);
    // The slot was given back on the way out, not left to expire with the lease.
    const limiter = createRedisTenantLimiter({ redis: harness.redis, prefix: harness.prefix });
    expect((await limiter.inspect({ tenant: organization, service: 'exo' })).holders).toEqual([]);

    worker(harness);
    await expectOneCompleteSet(harness, runId);
  }, 360_000);

  it('lets an active run finish when it fits the drain deadline', async () => {
    harness = await setUp(1);
    const only = worker(harness, ['--drain', '30']);
    await only.waitForOutput(/worker ready/);
    const runId = await harness.enqueue('slow-mailboxes');
    await processedBy(harness, runId, 1);
    only.child.kill('SIGTERM');
    expect(await only.exited()).toBe(0);
    await expectOneCompleteSet(harness, runId);
    expect(only.output()).not.toMatch(/aborting them/);
  }, 360_000);
});
