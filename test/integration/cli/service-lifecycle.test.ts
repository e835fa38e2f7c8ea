import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunHistory, type RunHistoryEntry } from '../../../src/queue/run-history.js';
import { findFreePort, isProcessAlive, startEmbeddedRedis, type EmbeddedRedis } from '../../../src/queue/embedded-redis.js';
import { eventually, spawnExorun, type ExorunProcess } from '../../support/processes.js';
import { uniquePrefix } from '../../support/redis.js';

/**
 * The life of the service processes as an operator meets it: `exorun up` with its private
 * redis-server stopped by Ctrl-C in a terminal, a server left behind by a killed `up` adopted by
 * the next one, and workers and schedulers that stop on SIGTERM even when Redis is gone.
 */

let dir: string;
const started: ExorunProcess[] = [];
const servers: EmbeddedRedis[] = [];
const strayServerPids: number[] = [];

function jobsYaml(outputs: string): string {
  // 240 mailboxes in pages of 4 with 50 ms per call: a run that is surely still going when the
  // test interrupts it a few pages in, and finishes within the drain.
  return `version: 1
defaults:
  output: { directory: ${JSON.stringify(outputs)} }
tenants:
  sim:
    organization: lifecycle.onmicrosoft.com
    cloud: simulated
    simulator: { seed: 5, mailboxes: 240, latencyMs: 50 }
jobs:
  slow-inventory:
    tenant: sim
    cmdlet: Get-Mailbox
    parameters: { ResultSize: Unlimited }
    pageSize: 4
    output: { formats: [jsonl] }
`;
}

async function workspace(name: string): Promise<{ root: string; env: Record<string, string> }> {
  const root = path.join(dir, name);
  await writeFile(path.join(dir, `${name}.yaml`), jobsYaml(path.join(root, 'outputs')));
  return {
    root,
    env: {
      // Unset: `up` starts (or adopts) a private redis-server under EXORUN_STATE_DIR.
      REDIS_URL: '',
      EXORUN_STATE_DIR: path.join(root, '.exorun'),
      EXORUN_CONFIG: path.join(dir, `${name}.yaml`),
      EXORUN_PREFIX: uniquePrefix('lifecycle'),
      EXORUN_HTTP_PORT: '0',
    },
  };
}

async function redisState(root: string): Promise<{ url: string; pid: number }> {
  return JSON.parse(await readFile(path.join(root, '.exorun', 'redis.json'), 'utf8')) as { url: string; pid: number };
}

function start(args: string[], env: Record<string, string>, processGroup = false): ExorunProcess {
  const child = spawnExorun(args, env, { processGroup });
  started.push(child);
  return child;
}

/** Milliseconds from now until the process has exited, with its exit code. */
async function timeToExit(child: ExorunProcess): Promise<{ code: number | string; ms: number }> {
  const fromMs = Date.now();
  const code = await child.exited();
  return { code, ms: Date.now() - fromMs };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-lifecycle-'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((child) => child.stop('SIGKILL')));
  for (const pid of strayServerPids.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('exorun up with its private redis-server', () => {
  it('on Ctrl-C (SIGINT to the process group) lets the active run finish, then stops the private redis-server last', async () => {
    const { root, env } = await workspace('ctrl-c');
    const up = start(['up', '--run-now', '--no-watch', '--drain', '240'], env, true);
    await up.waitForOutput(/--run-now: run queued/);
    const runId = (/"runId":"([^"]+)"[^\n]*--run-now: run queued/.exec(up.output()) ?? [])[1];
    expect(runId, up.output()).toBeDefined();
    const server = await redisState(root);
    strayServerPids.push(server.pid);
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    try {
      const history = createRunHistory({ redis, prefix: env['EXORUN_PREFIX']! });
      const running = await eventually(
        async () => {
          const entry = await history.get(runId!);
          return entry?.status === 'running' && (entry.pages ?? 0) >= 2 ? entry : undefined;
        },
        240_000,
        'the run to be a few pages in',
      );
      expect(running.objects ?? 0).toBeLessThan(240);

      // What a terminal does on Ctrl-C: the signal goes to every process of the foreground group.
      up.signalGroup('SIGINT');
      await up.waitForOutput(/stopping: finishing active runs/);
      expect(isProcessAlive(server.pid)).toBe(true);
    } finally {
      redis.disconnect();
    }

    expect(await up.exited()).toBe(0);
    const output = up.output();
    // The run finished during the drain, and only then did the private Redis stop.
    const order = [
      'stopping: finishing active runs',
      'run succeeded',
      'stopping the private redis-server',
      'private redis-server stopped',
      '"msg":"stopped"',
    ].map((text) => output.indexOf(text));
    expect(
      order.every((index) => index >= 0),
      output,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(isProcessAlive(server.pid)).toBe(false);
    expect(existsSync(path.join(root, '.exorun', 'redis.json'))).toBe(false);

    // The history the worker recorded before Redis stopped is final: read it back from the
    // private server's persisted data.
    const reopened = await startEmbeddedRedis({ persistent: true, dir: path.join(root, '.exorun', 'redis') });
    servers.push(reopened);
    const check = new Redis(reopened.url);
    try {
      const entry = await createRunHistory({ redis: check, prefix: env['EXORUN_PREFIX']! }).get(runId!);
      expect(entry).toMatchObject<Partial<RunHistoryEntry>>({ status: 'succeeded', objects: 240 });
      expect(entry?.endedAt).toBeDefined();
    } finally {
      check.disconnect();
    }
  }, 600_000);

  it('adopts a private redis-server left running by an `up` that was killed, says so, and stops it at exit', async () => {
    const { root, env } = await workspace('adopt');
    const first = start(['up', '--no-watch'], env);
    await first.waitForOutput(/worker ready/);
    expect(first.output()).toMatch(/started a private redis-server/);
    const server = await redisState(root);
    strayServerPids.push(server.pid);
    first.child.kill('SIGKILL');
    await first.exited();
    expect(isProcessAlive(server.pid)).toBe(true);

    const second = start(['up', '--no-watch'], env);
    await second.waitForOutput(/worker ready/);
    const reuse = second
      .output()
      .split('\n')
      .find((line) => line.includes('reusing the private redis-server'));
    expect(reuse, second.output()).toBeDefined();
    expect(reuse).toContain(`"pid":${server.pid}`);
    expect(reuse).toContain(server.url);
    expect(second.output()).not.toMatch(/started a private redis-server/);

    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);
    expect(second.output()).toMatch(/private redis-server stopped/);
    expect(isProcessAlive(server.pid)).toBe(false);
  }, 600_000);
});

describe('stopping services while Redis is unreachable', () => {
  it('a worker and a scheduler report the outage in a line or two without stacks, and exit on SIGTERM within the drain plus 5 s', async () => {
    const redis = await startEmbeddedRedis();
    servers.push(redis);
    const { env } = await workspace('outage');
    const serviceEnv = { ...env, REDIS_URL: redis.url };
    const scheduler = start(['scheduler', '--no-watch'], serviceEnv);
    const worker = start(['worker', '--no-watch', '--drain', '3'], serviceEnv);
    await Promise.all([scheduler.waitForOutput(/job schedulers reconciled|this scheduler now leads/), worker.waitForOutput(/worker ready/)]);
    const before = { scheduler: scheduler.output().length, worker: worker.output().length };

    await redis.stop();
    const waiting = new RegExp(`waiting for Redis at ${redis.url.replace(/[.]/g, '\\.')}`);
    await Promise.all([scheduler.waitForOutput(waiting), worker.waitForOutput(waiting)]);
    // Every connection retries several times a second; the log must not follow each attempt.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    for (const [name, child] of [
      ['scheduler', scheduler],
      ['worker', worker],
    ] as const) {
      const during = child.output().slice(before[name]);
      expect(during, `${name} output during the outage`).not.toMatch(/\n\s+at /);
      expect(during.split('\n').filter((line) => line.includes('ECONNREFUSED')).length, during).toBeLessThanOrEqual(2);
    }

    worker.child.kill('SIGTERM');
    scheduler.child.kill('SIGTERM');
    const [workerExit, schedulerExit] = await Promise.all([timeToExit(worker), timeToExit(scheduler)]);
    // The deadline is the drain (3 s; the scheduler has none) plus 5 s; a little slack for a busy machine.
    expect(workerExit.ms).toBeLessThan(8_000 + 3_000);
    expect(schedulerExit.ms).toBeLessThan(5_000 + 3_000);
    expect([0, 1, 130]).toContain(workerExit.code);
    expect([0, 1, 130]).toContain(schedulerExit.code);
    // When closing had to be cut short, the log says what did not close.
    if (workerExit.code === 130) expect(worker.output()).toMatch(/shutdown did not finish within 8 s: exiting without closing worker/);
    expect(worker.output().slice(before.worker)).not.toMatch(/\n\s+at /);
    expect(scheduler.output().slice(before.scheduler)).not.toMatch(/\n\s+at /);
  }, 600_000);

  it('a second SIGTERM exits at once, even while the first is still draining', async () => {
    const redis = await startEmbeddedRedis();
    servers.push(redis);
    const { env } = await workspace('second-signal');
    // A drain of 10 minutes: without the second signal this worker would wait that long.
    const worker = start(['worker', '--no-watch', '--drain', '600'], { ...env, REDIS_URL: redis.url });
    await worker.waitForOutput(/worker ready/);
    await redis.stop();
    await worker.waitForOutput(/waiting for Redis at/);
    worker.child.kill('SIGTERM');
    await worker.waitForOutput(/stopping: finishing active runs/);
    worker.child.kill('SIGTERM');
    const { code, ms } = await timeToExit(worker);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(5_000);
    expect(worker.output()).toMatch(/second signal \(SIGTERM\): exiting without closing worker/);
  }, 600_000);

  it('a service waiting for Redis at start-up says so once and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const { env } = await workspace('never-up');
    const worker = start(['worker', '--no-watch'], { ...env, REDIS_URL: `redis://:not-for-logs@127.0.0.1:${port}` });
    await worker.waitForOutput(new RegExp(`waiting for Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
    worker.child.kill('SIGTERM');
    expect(await worker.exited()).toBe(0);
    expect(worker.output()).not.toContain('not-for-logs');
    expect(worker.output().match(/waiting for Redis/g)).toHaveLength(1);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  }, 600_000);
});
