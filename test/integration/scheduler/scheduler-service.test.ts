import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConfigSource, type ConfigSource } from '../../../src/config/config-source.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { createSilentLogger } from '../../../src/core/logger.js';
import { RUNS_QUEUE, TICKS_QUEUE } from '../../../src/queue/run-queue.js';
import { startSchedulerService, type SchedulerService } from '../../../src/scheduler/scheduler-service.js';
import { eventually } from '../../support/processes.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const jobs = (entries: string): string => `version: 1
tenants:
  demo: { organization: demo.onmicrosoft.com, cloud: simulated }
jobs:
${entries}`;

let dir: string;
let prefix: string;
let redis: Redis;
const started: { service: SchedulerService; source: ConfigSource }[] = [];

async function startReplica(file: string): Promise<SchedulerService> {
  const source = createConfigSource(await loadConfigFile(file), { logger: createSilentLogger(), debounceMs: 50 });
  const service = await startSchedulerService({ redisUrl: testRedisUrl(), prefix, logger: createSilentLogger(), config: source, leaderTtlMs: 1_500 });
  started.push({ service, source });
  return service;
}

async function schedulerIds(): Promise<string[]> {
  const queue = new Queue(TICKS_QUEUE, { connection: redis, prefix });
  try {
    return (await queue.getJobSchedulers(0, -1, true)).map((scheduler) => scheduler.key).sort();
  } finally {
    await queue.close();
  }
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-scheduler-'));
  prefix = uniquePrefix('sched');
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
});

afterEach(async () => {
  for (const { service, source } of started.splice(0)) {
    await service.close();
    source.close();
  }
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('scheduler service', () => {
  it('lets exactly one of several replicas reconcile, and a tick becomes exactly one run', async () => {
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(file, jobs('  fast: { schedule: "* * * * * *", tenant: demo, cmdlet: Get-AcceptedDomain }\n'));
    const replicas = await Promise.all([startReplica(file), startReplica(file), startReplica(file)]);
    expect(replicas.filter((replica) => replica.isLeader())).toHaveLength(1);
    expect(await schedulerIds()).toEqual(['fast']);

    const runs = new Queue(RUNS_QUEUE, { connection: redis, prefix });
    try {
      const queued = await eventually(
        async () => {
          const all = await runs.getJobs(['waiting', 'delayed', 'prioritized']);
          return all.length >= 3 ? all : undefined;
        },
        10_000,
        'three ticks to become runs',
      );
      // Every replica consumes ticks, yet each fire time was queued once.
      const ids = queued.map((job) => job.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^fast\.demo\.\d{8}T\d{6}Z$/);
    } finally {
      await runs.close();
    }
  });

  it('applies an edited jobs.yaml on its own: adds, changes and removes schedulers', async () => {
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(
      file,
      jobs(`  nightly: { schedule: "0 2 * * *", tenant: demo, cmdlet: Get-Mailbox }
  weekly: { schedule: "0 6 * * MON", tenant: demo, cmdlet: Get-Recipient }
`),
    );
    await startReplica(file);
    expect(await schedulerIds()).toEqual(['nightly', 'weekly']);

    await writeFile(
      file,
      jobs(`  nightly: { schedule: "0 3 * * *", timezone: Europe/Berlin, tenant: demo, cmdlet: Get-Mailbox }
  hourly: { schedule: "0 * * * *", tenant: demo, cmdlet: Get-AcceptedDomain }
`),
    );
    await eventually(async () => (await schedulerIds()).join() === 'hourly,nightly', 10_000, 'the edited file to be reconciled');
    const queue = new Queue(TICKS_QUEUE, { connection: redis, prefix });
    try {
      expect(await queue.getJobScheduler('nightly')).toMatchObject({ pattern: '0 3 * * *', tz: 'Europe/Berlin' });
    } finally {
      await queue.close();
    }
  });

  it('keeps the last valid configuration when the file is saved with a mistake', async () => {
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(file, jobs('  nightly: { schedule: "0 2 * * *", tenant: demo, cmdlet: Get-Mailbox }\n'));
    await startReplica(file);
    await writeFile(file, jobs('  nightly: { schedule: "0 2 * * *", tenant: nobody, cmdlet: Get-Mailbox }\n'));
    const reloaded = await started[0]!.source.reload();
    expect(reloaded).toBe(false);
    expect(started[0]!.source.current().jobs['nightly']?.tenants).toEqual(['demo']);
    expect(await schedulerIds()).toEqual(['nightly']);
  });

  it('hands leadership over when the leader stops', async () => {
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(file, jobs('  nightly: { schedule: "0 2 * * *", tenant: demo, cmdlet: Get-Mailbox }\n'));
    const first = await startReplica(file);
    const second = await startReplica(file);
    const [leader, follower] = first.isLeader() ? [first, second] : [second, first];
    expect(follower.isLeader()).toBe(false);
    await leader.close();
    await eventually(async () => follower.isLeader(), 10_000, 'the follower to take over');
  });
});
