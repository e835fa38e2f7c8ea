import path from 'node:path';
import { loadConfigFile } from '../../config/load.js';
import { AppError } from '../../core/errors.js';
import { parseDurationMs } from '../../core/time.js';
import { planRun } from '../../jobs/plan.js';
import { createRedisConnection } from '../../queue/connection.js';
import { createRunQueue, waitForRun } from '../../queue/run-queue.js';
import type { RunSummary } from '../../worker/run-processor.js';
import { watchRunProgress } from '../../queue/run-progress.js';
import { createProgressReporter } from '../progress-line.js';
import { createRuntime, resolveRedis, type GlobalOptions } from '../runtime.js';

export interface RunCommandOptions extends GlobalOptions {
  wait?: boolean;
  timeout: string;
  json?: boolean;
  /** False with --no-progress. */
  progress?: boolean;
}

/** `exorun run <job>`: queues one run now; with --wait, waits for it and exits 0 or 1. */
export async function runCommand(jobName: string, options: RunCommandOptions): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const timeoutMs = parseDurationMs(options.timeout);
  if (timeoutMs === undefined) throw new AppError('CFG_ENV_INVALID', `--timeout ${options.timeout} is not a duration (e.g. 90s, 10m).`);
  const config = await loadConfigFile(runtime.configFile);
  const plan = planRun(config, jobName, { trigger: 'manual', nowMs: Date.now() });
  const redis = await resolveRedis(runtime, { startIfMissing: false });
  const connection = createRedisConnection(redis.url, 'worker', 'exorun-cli');
  const runs = createRunQueue({ connection, prefix: runtime.env.EXORUN_PREFIX });
  try {
    await runs.enqueue(plan);
    const workers = await runs.queue.getWorkersCount();
    if (!options.json) {
      process.stdout.write(`queued ${plan.runId} (${plan.definition.cmdlet} for ${plan.tenant})\n`);
      if (workers === 0) process.stdout.write('no worker is connected yet; the run starts when one is (`exorun worker` or `exorun up`)\n');
    }
    if (!options.wait) {
      if (options.json) process.stdout.write(`${JSON.stringify({ runId: plan.runId, queued: true })}\n`);
      return 0;
    }
    const reporter =
      options.progress === false
        ? undefined
        : createProgressReporter({ runId: plan.runId, tty: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) });
    const watch = reporter
      ? await watchRunProgress({ connection, prefix: runtime.env.EXORUN_PREFIX, runId: plan.runId, onEvent: (event) => reporter.handle(event) })
      : undefined;
    const result = await waitForRun({ connection, prefix: runtime.env.EXORUN_PREFIX, runId: plan.runId, timeoutMs }).finally(async () => {
      reporter?.finish();
      await watch?.close();
    });
    if (result.state === 'failed') {
      if (options.json) process.stdout.write(`${JSON.stringify({ runId: plan.runId, status: 'failed', reason: result.failedReason })}\n`);
      else process.stderr.write(`run ${plan.runId} failed: ${result.failedReason ?? 'unknown reason'}\n`);
      return 1;
    }
    const summary = result.returnValue as RunSummary;
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `run ${summary.runId} ${summary.status}: ${summary.objectCount} object(s) in ${summary.pageCount} page(s), ${(summary.durationMs / 1000).toFixed(1)} s${summary.warnings > 0 ? `, ${summary.warnings} warning(s)` : ''}\n`,
      );
      for (const file of summary.files) process.stdout.write(`  ${path.join(summary.outputRoot, file)}\n`);
    }
    return 0;
  } finally {
    await runs.close();
    connection.disconnect();
  }
}
