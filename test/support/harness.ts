import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfigFile } from '../../src/config/load.js';
import type { ExorunConfig } from '../../src/config/model.js';
import { createSilentLogger } from '../../src/core/logger.js';
import type { Manifest } from '../../src/storage/index.js';
import { planRun } from '../../src/jobs/plan.js';
import { createRunQueue, waitForRun, type RunQueue } from '../../src/queue/run-queue.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '@exorun/simulator';
import { writeSimulatorState } from '../../src/worker/simulator-state.js';
import { startWorkerService, type WorkerService, type WorkerServiceOptions } from '../../src/worker/worker-service.js';
import { readManifests } from './outputs.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

/**
 * A simulator, a jobs.yaml, and any number of worker services (each with its own Redis
 * connections and lease client, as separate processes would have) in this process.
 */
export interface Harness {
  readonly dir: string;
  readonly outputs: string;
  readonly prefix: string;
  readonly stateFile: string;
  readonly simulator: Simulator;
  readonly redis: Redis;
  readonly runs: RunQueue;
  readonly config: ExorunConfig;
  readonly workers: WorkerService[];
  startWorker(overrides?: Partial<WorkerServiceOptions>): Promise<WorkerService>;
  /** Queues a manual run of `job` and returns its run id. */
  enqueue(job: string): Promise<string>;
  /** Waits for the run to complete and returns its manifest. */
  finished(runId: string, timeoutMs?: number): Promise<Manifest>;
  /** Environment for `exorun` child processes using the same Redis, prefix, config and simulator. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function createHarness(options: { jobsYaml: (outputs: string) => string; simulator?: SimulatorOptions; label?: string }): Promise<Harness> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `exorun-${options.label ?? 'harness'}-`));
  const outputs = path.join(dir, 'outputs');
  const configFile = path.join(dir, 'jobs.yaml');
  await writeFile(configFile, options.jobsYaml(outputs));
  const config = await loadConfigFile(configFile);
  const simulator = await startSimulator(options.simulator);
  const stateFile = path.join(dir, 'simulator.json');
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
  const prefix = uniquePrefix(options.label ?? 'harness');
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const runs = createRunQueue({ connection: redis, prefix });
  const workers: WorkerService[] = [];

  return {
    dir,
    outputs,
    prefix,
    stateFile,
    simulator,
    redis,
    runs,
    config,
    workers,
    async startWorker(overrides = {}) {
      const worker = await startWorkerService({
        redisUrl: testRedisUrl(),
        prefix,
        logger: createSilentLogger(),
        config: () => config,
        concurrency: 8,
        leaseTtlMs: 5_000,
        lockDurationMs: 5_000,
        simulatorStateFile: stateFile,
        ...overrides,
      });
      workers.push(worker);
      return worker;
    },
    async enqueue(job) {
      const plan = planRun(config, job, { trigger: 'manual', nowMs: Date.now() });
      await runs.enqueue(plan);
      return plan.runId;
    },
    async finished(runId, timeoutMs = 180_000) {
      const result = await waitForRun({ connection: redis, prefix, runId, timeoutMs });
      if (result.state !== 'completed') throw new Error(`run ${runId} ${result.state}: ${result.failedReason ?? ''}`);
      const manifest = (await readManifests(outputs)).find((candidate) => candidate.runId === runId);
      if (!manifest) throw new Error(`no manifest for ${runId}`);
      return manifest;
    },
    env(extra = {}) {
      return {
        REDIS_URL: testRedisUrl(),
        EXORUN_PREFIX: prefix,
        EXORUN_CONFIG: configFile,
        EXORUN_SIMULATOR: stateFile,
        EXORUN_STATE_DIR: path.join(dir, '.exorun'),
        ...extra,
      };
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(2_000)));
      await runs.close();
      redis.disconnect();
      await simulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
