import path from 'node:path';
import { loadConfigFile } from '../../config/index.js';
import type { ExorunConfig } from '../../config/index.js';
import { AppError } from '../../core/index.js';
import { parseDurationMs } from '../../core/index.js';
import { computeWindow, describeDryRun, usesWindow, type ItemSample, type RunPlan, type RunWindow } from '../../jobs/index.js';
import { planRun, planRuns } from '../../jobs/index.js';
import { createRedisConnection, onRedisOutage, redactUrl, redisSeemsDown } from '../../queue/index.js';
import { createRunQueue, waitForRun } from '../../queue/index.js';
import { createRunWindowStore } from '../../queue/index.js';
import { listRuns, readManifest } from '../../storage/index.js';
import { readJsonlObjects } from '../../storage/index.js';
import type { RunSummary } from '../../worker/index.js';
import { watchRunProgress } from '../../queue/index.js';
import { createProgressReporter } from '../progress-line.js';
import { EXIT } from '../exit-codes.js';
import { connectRedis, createRuntime, resolveRedis, type GlobalOptions, type Runtime } from '../runtime.js';

export interface RunCommandOptions extends GlobalOptions {
  wait?: boolean;
  timeout: string;
  json?: boolean;
  /** Print the calls the run would make, and make none. */
  dryRun?: boolean;
  /** Only this tenant of a multi-tenant job. */
  tenant?: string;
  /** False with --no-progress. */
  progress?: boolean;
}

/** forEach items shown per step by --dry-run. */
const DRY_RUN_SAMPLE = 3;

/**
 * `exorun run <job>`: queues one run now per tenant of the job; with --wait, waits for them and
 * exits 0 when all succeeded, 1 otherwise. With --dry-run, prints the calls instead.
 */
export async function runCommand(jobName: string, options: RunCommandOptions): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const timeoutMs = parseDurationMs(options.timeout);
  if (timeoutMs === undefined) throw new AppError('CFG_ENV_INVALID', `--timeout ${options.timeout} is not a duration (e.g. 90s, 10m).`);
  const config = await loadConfigFile(runtime.configFile);
  const nowMs = Date.now();
  const plans =
    options.tenant === undefined
      ? planRuns(config, jobName, { trigger: 'manual', nowMs })
      : [planRun(config, jobName, { trigger: 'manual', nowMs, tenant: options.tenant })];
  if (options.dryRun) return dryRun(runtime, config, plans);

  const { url: redisUrl, connection } = await connectRedis(runtime, 'worker', 'exorun-cli');
  const runs = createRunQueue({ connection, prefix: runtime.env.EXORUN_PREFIX });
  let stopWatchingSignals = (): void => undefined;
  let stopWatchingRedis = (): void => undefined;
  try {
    /** Queued runs whose result has not been printed yet. */
    const unfinished: string[] = [];
    let clearProgressLine = (): void => undefined;
    // With --wait, Ctrl-C stops the waiting, not the run: say so, and where to look later. Set up
    // before anything is queued, so that no moment between "queued" and the wait is left out.
    const stopWaiting = (): void => {
      clearProgressLine();
      const [first] = unfinished;
      const which =
        first === undefined
          ? ''
          : `: ${unfinished.length === 1 ? `run ${first} goes` : `runs ${unfinished.join(', ')} go`} on in the queue (\`exorun show ${first}\`)`;
      process.stderr.write(`stopped waiting${which}\n`);
      process.exit(EXIT.interrupted);
    };
    if (options.wait) {
      process.on('SIGINT', stopWaiting);
      process.on('SIGTERM', stopWaiting);
      stopWatchingSignals = () => {
        process.off('SIGINT', stopWaiting);
        process.off('SIGTERM', stopWaiting);
      };
    }
    const queued: RunPlan[] = [];
    for (const plan of plans) {
      const { skipped } = await runs.enqueue(plan);
      if (skipped) {
        process.stderr.write(`not queued for ${plan.tenant}: overlap ${skipped.policy}, ${skipped.running} running and ${skipped.waiting} waiting\n`);
        continue;
      }
      queued.push(plan);
      unfinished.push(plan.runId);
      if (!options.json) process.stdout.write(`queued ${plan.runId} (${plan.definition.steps.map((step) => step.cmdlet).join(' → ')} for ${plan.tenant})\n`);
    }
    // From here on everything waits on a connection that retries for ever: a Redis that goes away
    // and stays away ends the waiting (exit 4) wherever it happens, not only inside waitForRun.
    const lostRedis = options.wait ? giveUpWhenRedisStaysDown(redisUrl, () => unfinished[0]) : undefined;
    const orLostRedis = <T>(work: Promise<T>): Promise<T> => (lostRedis ? Promise.race([work, lostRedis.failed]) : work);
    stopWatchingRedis = () => lostRedis?.stop();
    const workers = await orLostRedis(runs.queue.getWorkersCount());
    if (!options.json && workers === 0 && queued.length > 0) {
      process.stdout.write('no worker is connected yet; the run starts when one is (`exorun worker` or `exorun up`)\n');
    }
    if (!options.wait) {
      if (options.json) for (const plan of queued) process.stdout.write(`${JSON.stringify({ runId: plan.runId, tenant: plan.tenant, queued: true })}\n`);
      return queued.length === plans.length ? EXIT.ok : EXIT.failed;
    }
    let failures = plans.length - queued.length;
    for (const plan of queued) {
      const reporter =
        options.progress === false
          ? undefined
          : createProgressReporter({ runId: plan.runId, tty: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) });
      clearProgressLine = () => reporter?.finish();
      const watch = reporter
        ? await orLostRedis(watchRunProgress({ connection, prefix: runtime.env.EXORUN_PREFIX, runId: plan.runId, onEvent: (event) => reporter.handle(event) }))
        : undefined;
      const result = await orLostRedis(waitForRun({ connection, prefix: runtime.env.EXORUN_PREFIX, runId: plan.runId, timeoutMs })).finally(async () => {
        reporter?.finish();
        // Closing waits for Redis to acknowledge; without Redis there is nothing to wait for.
        if (!redisSeemsDown()) await watch?.close();
      });
      unfinished.splice(unfinished.indexOf(plan.runId), 1);
      if (result.state === 'failed') {
        failures += 1;
        if (options.json) process.stdout.write(`${JSON.stringify({ runId: plan.runId, status: 'failed', reason: result.failedReason })}\n`);
        else process.stderr.write(`run ${plan.runId} failed: ${result.failedReason ?? 'unknown reason'}\n`);
        continue;
      }
      printSummary(result.returnValue as RunSummary, options.json === true);
    }
    return failures === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    stopWatchingSignals();
    stopWatchingRedis();
    if (!redisSeemsDown()) await runs.close();
    connection.disconnect();
  }
}

/** How long `run --wait` waits for Redis to come back before it gives up with REDIS_UNAVAILABLE. */
const REDIS_WAIT_GIVE_UP_MS = 30_000;

/**
 * The waiting connection retries for ever (BullMQ needs that), so without this a `run --wait`
 * whose Redis went away would wait silently until --timeout, or for ever. The run itself is safe
 * in Redis and goes on when it is back.
 */
function giveUpWhenRedisStaysDown(url: string, runIdNow: () => string | undefined): { failed: Promise<never>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let reject: (error: AppError) => void = () => undefined;
  const failed = new Promise<never>((_, rejectWith) => (reject = rejectWith));
  failed.catch(() => undefined);
  const startTimer = (reason: string): void => {
    timer ??= setTimeout(() => {
      const runId = runIdNow();
      const which = runId === undefined ? 'the runs' : `run ${runId}`;
      reject(
        new AppError(
          'REDIS_UNAVAILABLE',
          `Lost Redis at ${redactUrl(url)} for ${REDIS_WAIT_GIVE_UP_MS / 1000} s while waiting for ${which} (${reason}); the run goes on when Redis is back${runId === undefined ? '' : `: \`exorun show ${runId}\``}.`,
        ),
      );
    }, REDIS_WAIT_GIVE_UP_MS);
  };
  const unsubscribe = onRedisOutage((event) => {
    if (event.kind === 'up') {
      clearTimeout(timer);
      timer = undefined;
    } else {
      startTimer(event.reason);
    }
  });
  // An outage that began before this watch did (its first event already went by) counts from now.
  if (redisSeemsDown()) startTimer('Redis was already unreachable');
  return {
    failed,
    stop() {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}

function printSummary(summary: RunSummary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const extras = [
    summary.warnings > 0 ? `${summary.warnings} warning(s)` : '',
    summary.itemFailures ? `${summary.itemFailures} failed item(s)` : '',
    summary.window ? `window ${summary.window.start} .. ${summary.window.end}` : '',
  ].filter((extra) => extra !== '');
  process.stdout.write(
    `run ${summary.runId} ${summary.status}: ${summary.objectCount} object(s) in ${summary.pageCount} page(s), ${(summary.durationMs / 1000).toFixed(1)} s${extras.map((extra) => `, ${extra}`).join('')}\n`,
  );
  for (const file of summary.files) process.stdout.write(`  ${path.join(summary.outputRoot, file)}\n`);
}

/**
 * --dry-run: the calls each tenant's run would make, without queuing or calling anything. The
 * window comes from Redis when it is reachable (else the first run's is shown); forEach items come
 * from the last successful output of the step they iterate over, when there is one.
 */
async function dryRun(runtime: Runtime, config: ExorunConfig, plans: RunPlan[]): Promise<number> {
  const first = plans[0];
  if (!first) return 0;
  const job = config.jobs[first.job];
  const outputRoot = job?.output.directory ?? config.outputDirectory;
  process.stdout.write(`dry run of ${first.job}: nothing is queued or sent\n`);
  const windowed = first.definition.initialWindowMs !== undefined && first.definition.steps.some((step) => usesWindow(step.parameters));
  const lastEnds = windowed ? await storedWindowEnds(runtime, plans) : undefined;
  for (const plan of plans) {
    const tenant = config.tenants[plan.tenant];
    if (!tenant) continue;
    let window: { window: RunWindow; origin: string } | undefined;
    if (windowed) {
      const endMs = Date.parse(plan.requestedAt);
      const lastEndMs = lastEnds?.get(plan.tenant);
      const initialWindowMs = plan.definition.initialWindowMs ?? 0;
      const origin =
        lastEnds === undefined
          ? 'Redis not reachable: shown as a first run, initialWindow back'
          : lastEndMs === undefined
            ? 'first run: initialWindow back'
            : 'continues the last successful run';
      try {
        window = { window: computeWindow({ lastEndMs, initialWindowMs, endMs }), origin };
      } catch (error) {
        process.stdout.write(`tenant ${plan.tenant}: ${(error as Error).message}\n`);
        continue;
      }
    }
    const samples = new Map<string, ItemSample>();
    for (const step of plan.definition.steps) {
      if (step.forEach !== undefined) samples.set(step.name, await sampleItems(outputRoot, plan, step.forEach));
    }
    const lines = describeDryRun({
      plan,
      tenant: { name: tenant.name, organization: tenant.organization, ...(tenant.tenantId === undefined ? {} : { tenantId: tenant.tenantId }) },
      ...(window === undefined ? {} : { window }),
      samples,
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

async function storedWindowEnds(runtime: Runtime, plans: RunPlan[]): Promise<Map<string, number | undefined> | undefined> {
  let url: string;
  try {
    url = (await resolveRedis(runtime, { startIfMissing: false })).url;
  } catch {
    return undefined;
  }
  const connection = createRedisConnection(url, 'client', 'exorun-cli', { probe: true });
  try {
    const store = createRunWindowStore({ redis: connection, prefix: runtime.env.EXORUN_PREFIX });
    const ends = new Map<string, number | undefined>();
    for (const plan of plans) ends.set(plan.tenant, await store.lastEnd(plan.job, plan.tenant));
    return ends;
  } catch {
    return undefined;
  } finally {
    connection.disconnect();
  }
}

/** The first objects of the newest successful output of `sourceStep` for the plan's tenant. */
async function sampleItems(outputRoot: string, plan: RunPlan, sourceStep: string): Promise<ItemSample> {
  const { runs } = await listRuns(outputRoot, plan.job);
  for (const run of runs) {
    if (run.tenant !== plan.tenant || run.status !== 'succeeded') continue;
    const manifest = await readManifest(run.manifestPath);
    if ((manifest.step ?? undefined) !== (plan.definition.namedSteps ? sourceStep : undefined)) continue;
    const jsonl = manifest.files.find((file) => file.format === 'jsonl');
    if (!jsonl) continue;
    const file = path.join(outputRoot, jsonl.path);
    const items: Record<string, unknown>[] = [];
    const reader = readJsonlObjects(file);
    for await (const item of reader) {
      items.push(item);
      if (items.length >= DRY_RUN_SAMPLE) break;
    }
    return { kind: 'earlier-output', file: path.relative(process.cwd(), file), total: jsonl.objects, items };
  }
  return { kind: 'unknown', reason: `no earlier output of ${sourceStep} for ${plan.tenant}; its objects are known only when the run reads them` };
}
