/**
 * A small exorun deployment for benchmarks: a private redis-server, the simulator in its own
 * process, and N worker processes, all real. The benchmark process queues runs and watches them
 * finish through BullMQ's QueueEvents.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfigFile } from '../../src/config/load.js';
import type { ExorunConfig } from '../../src/config/model.js';
import { createHttpTransport } from '../../src/exchange/http-transport.js';
import { planRun, type RunPlan } from '../../src/jobs/plan.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/queue/embedded-redis.js';
import { createRunQueue, RUNS_QUEUE, type RunQueue } from '../../src/queue/run-queue.js';
import { readSimulatorState, type SimulatorState } from '../../src/worker/simulator-state.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface ClusterOptions {
  jobsYaml: (outputs: string) => string;
  workers: number;
  concurrency: number;
  /** Extra `exorun simulate` flags. */
  simulatorArgs?: string[];
  /** Extra environment for workers. */
  workerEnv?: Record<string, string>;
}

export interface Cluster {
  readonly dir: string;
  readonly outputs: string;
  readonly config: ExorunConfig;
  readonly runs: RunQueue;
  readonly redis: Redis;
  readonly prefix: string;
  /** Plans runs without queuing them (so queuing can be timed on its own). */
  plan(job: string, count: number): RunPlan[];
  /**
   * Subscribes to the runs' completions (resolves once subscribed, so runs queued afterwards are
   * never missed); `done` resolves when every given run completed, rejects on the first failure,
   * and holds the completion times.
   */
  watch(runIds: readonly string[]): Promise<{ done: Promise<Map<string, number>> }>;
  simulatorStats(tenant: string, service?: 'exo' | 'ipps'): Promise<Record<string, number>>;
  resetSimulatorStats(): Promise<void>;
  /** The simulator's recent calls for a tenant (server-side start and end times). */
  simulatorCalls(tenant: string): Promise<{ at: number; endedAt: number; status: number; cmdlet: string }[]>;
  /** Process ids of the worker processes. */
  readonly workerPids: number[];
  configureSimulator(settings: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-bench-'));
  const outputs = path.join(dir, 'outputs');
  const configFile = path.join(dir, 'jobs.yaml');
  await writeFile(configFile, options.jobsYaml(outputs));
  const config = await loadConfigFile(configFile);
  let embedded: EmbeddedRedis | undefined;
  const redisUrl = process.env['REDIS_URL'] ?? (embedded = await startEmbeddedRedis()).url;
  const prefix = `bench${Date.now()}`;
  const children: ChildProcess[] = [];
  let planned = 0;

  const stateFile = path.join(dir, 'simulator.json');
  // BENCH_SIMULATOR_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the simulator.
  const simulatorNodeArgs = process.env['BENCH_SIMULATOR_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  children.push(exorun(['simulate', '--state-file', stateFile, ...(options.simulatorArgs ?? [])], {}, simulatorNodeArgs));
  const state = await waitForState(stateFile);
  const env = {
    REDIS_URL: redisUrl,
    EXORUN_PREFIX: prefix,
    EXORUN_CONFIG: configFile,
    EXORUN_SIMULATOR: stateFile,
    EXORUN_STATE_DIR: path.join(dir, '.exorun'),
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
    ...options.workerEnv,
  };
  // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the workers.
  const workerNodeArgs = process.env['BENCH_WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  for (let index = 0; index < options.workers; index += 1) {
    children.push(exorun(['worker', '--concurrency', String(options.concurrency)], env, workerNodeArgs));
  }

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const runs = createRunQueue({ connection: redis, prefix });
  await waitForWorkers(runs, options.workers);
  const transport = createHttpTransport({ extraCaPem: [state.caCertPem] });
  const control = async (method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown): Promise<unknown> => {
    const response = await transport.request({
      method,
      url: `${state.urls.login}/_simulator/${route}`,
      headers: { authorization: `Bearer ${state.adminKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status >= 300) {
      throw new Error(`simulator control ${method} ${route}: HTTP ${response.status} ${response.body.toString('utf8').slice(0, 200)}`);
    }
    return JSON.parse(response.body.toString('utf8') || 'null');
  };

  return {
    dir,
    outputs,
    config,
    runs,
    redis,
    prefix,
    plan(job, count) {
      return Array.from({ length: count }, () => planRun(config, job, { trigger: 'manual', nowMs: Date.now(), nonce: `b${(planned++).toString(36)}` }));
    },
    async watch(runIds) {
      const wanted = new Set(runIds);
      const finished = new Map<string, number>();
      const eventsConnection = redis.duplicate();
      // Read from now (stream ids are Redis' ms clock, on this machine), not from whatever is
      // last when the first read happens, which may be after the first completions.
      const events = new QueueEvents(RUNS_QUEUE, { connection: eventsConnection, prefix, lastEventId: `${Date.now()}-0` });
      await events.waitUntilReady();
      const done = new Promise<Map<string, number>>((resolve, reject) => {
        events.on('completed', ({ jobId }) => {
          if (!wanted.has(jobId)) return;
          finished.set(jobId, Date.now());
          if (finished.size === wanted.size) resolve(finished);
        });
        events.on('failed', ({ jobId, failedReason }) => {
          if (wanted.has(jobId)) reject(new Error(`run ${jobId} failed: ${failedReason}`));
        });
      }).finally(() => void events.close().then(() => eventsConnection.disconnect()));
      return { done };
    },
    async simulatorStats(tenant, service) {
      return (await control('GET', `stats?tenant=${encodeURIComponent(tenant)}${service ? `&service=${service}` : ''}`)) as Record<string, number>;
    },
    async simulatorCalls(tenant) {
      return (await control('GET', `calls?tenant=${encodeURIComponent(tenant)}`)) as { at: number; endedAt: number; status: number; cmdlet: string }[];
    },
    workerPids: children.slice(1).map((child) => child.pid ?? -1),
    async resetSimulatorStats() {
      await control('POST', 'stats/reset', {});
    },
    async configureSimulator(settings) {
      await control('PUT', 'settings', settings);
    },
    async close() {
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
      await runs.close();
      redis.disconnect();
      await transport.close();
      await embedded?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The processes run the built CLI (what the `exorun` bin runs), as a deployment would: tsx keeps
 * the TypeScript compiler and source maps in memory, which would distort RSS figures. `npm ci`
 * builds dist (prepare); BENCH_FROM_SOURCE=1 runs src through tsx instead.
 */
const built = path.join(root, 'dist/cli/main.js');
const useBuilt = !process.env['BENCH_FROM_SOURCE'] && existsSync(built);

function exorun(args: string[], env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const entry = useBuilt ? [built] : ['--import', 'tsx', path.join(root, 'src/cli/main.ts')];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    // BENCH_WORKER_LOG=file keeps the processes' logs (append) for a closer look at a run.
    stdio: ['ignore', process.env['BENCH_WORKER_LOG'] ? openSync(process.env['BENCH_WORKER_LOG'], 'a') : 'ignore', 'inherit'],
  });
  return child;
}

async function waitForState(file: string): Promise<SimulatorState> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await readSimulatorState(file);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function waitForWorkers(runs: RunQueue, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await runs.queue.getWorkersCount()) < count) {
    if (Date.now() > deadline) throw new Error(`only ${await runs.queue.getWorkersCount()} of ${count} workers connected`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Percentile of a sorted list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
