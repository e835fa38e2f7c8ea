/**
 * B5 — a throttling service. One tenant (C = 3), 30 % of calls answered 429 or 503 (half each)
 * with Retry-After written in turn as whole seconds, fractional seconds and an HTTP date; 100
 * three-page runs from 4 worker processes. Targets: every run completes, no call goes out before a
 * Retry-After it was given has elapsed, and the peak in-flight stays ≤ C.
 *
 * Three counts of early calls:
 * - raw (the simulator): calls that arrived inside the window a 429/503 opened (from when the
 *   answer left to its Retry-After). It includes calls that were already on their way, or sent by
 *   a process that could not know yet, when the answer left;
 * - graced (the simulator): the same, forgiving calls that arrived within 50 ms of the answer;
 * - causal (the workers' debug logs): calls a worker sent while it knew of a running cool-down —
 *   one it was given itself or whose news had reached it. This is the request gate's promise.
 *
 *   npx tsx bench/b5-throttling.ts [--runs 100] [--rate 0.3] [--retry-after 1] [--workers 4] [--details]
 */
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { causalEarlyCalls, type CausalCount } from '../test/support/throttling.js';
import { startCluster } from './lib/cluster.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    rate: { type: 'string', default: '0.3' },
    'retry-after': { type: 'string', default: '1' },
    details: { type: 'boolean', default: false },
    workers: { type: 'string', default: '4' },
  },
});
const workers = Number(values.workers);
// Every worker's debug log (request sent, throttled, cool-down news) goes to this file, one JSON
// line each, for the causal count.
const workerLog = path.join(os.tmpdir(), `exorun-b5-${process.pid}.log`);
process.env['BENCH_WORKER_LOG'] = workerLog;
process.env['BENCH_LOG_LEVEL'] = 'debug';
const runs = Number(values.runs);
const rate = Number(values.rate);
const retryAfterSec = Number(values['retry-after']);
const organization = 'b5.onmicrosoft.com';
const slots = 3;

const cluster = await startCluster({
  workers,
  concurrency: 10,
  simulatorArgs: ['--early-retry-grace-ms', '50'],
  jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  b5: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 30, latencyMs: 20 }, limits: { exo: ${slots} } }
jobs:
  three-pages: { tenant: b5, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 10 }
`,
});
try {
  const warm = cluster.plan('three-pages', 4);
  const warmDone = (await cluster.watch(warm.map((plan) => plan.runId))).done;
  for (const plan of warm) await cluster.runs.enqueue(plan);
  await warmDone;
  await cluster.configureSimulator({
    organization,
    faults: { throttleRate: rate / 2, unavailableRate: rate / 2, retryAfterSec, retryAfterFormat: 'mixed', seed: 7 },
  });
  await cluster.resetSimulatorStats();

  const plans = cluster.plan('three-pages', runs);
  const { done } = await cluster.watch(plans.map((plan) => plan.runId));
  const started = Date.now();
  await cluster.runs.queue.addBulk(
    plans.map((plan) => ({ name: plan.job, data: plan, opts: { jobId: plan.runId, attempts: 10, backoff: { type: 'exponential', delay: 500 } } })),
  );
  const measuredFrom = Date.now();
  const finished = await done;
  const elapsedMs = Math.max(...finished.values()) - started;
  const stats = await cluster.simulatorStats(organization, 'exo');
  const byStatus = stats['byStatus'] as unknown as Record<string, number>;
  console.log(
    `B5 throttling: ${runs} three-page runs, C=${slots}, ${Math.round(rate * 100)} % of calls 429/503 with Retry-After ~${retryAfterSec} s (seconds, fraction, date), ${workers} workers`,
  );
  console.log(`  completed        ${finished.size} of ${runs} in ${(elapsedMs / 1000).toFixed(1)} s`);
  console.log(`  calls            ${stats['requests']} (by status ${JSON.stringify(byStatus)})`);
  const causal = causalEarlyCalls([await readFile(workerLog, 'utf8')], measuredFrom);
  const lags = newsLags(causal);
  console.log(
    `  early calls      ${stats['callsInRetryAfterWindow']} raw, ${stats['earlyRetries']} after a 50 ms grace; ${causal.early} causal of ${causal.sent} sent (target 0)`,
  );
  console.log(
    `  cool-downs       ${causal.answers} answers read by a worker, ${causal.news} news received by the others; news reached them ${lags.length === 0 ? '-' : `p50 ${quantile(lags, 0.5)} / p90 ${quantile(lags, 0.9)} / max ${quantile(lags, 1)} ms`} after the answer was read`,
  );
  console.log(`  peak in-flight   ${stats['peakInFlight']} (limit ${slots}); refused for concurrency ${stats['refusedConcurrency']}`);
  if (values.details) {
    // Each early call with the throttling answer it ignored: how long after that answer it came,
    // and whether it came from the same process (connection-id) and page.
    const calls = (await cluster.simulatorCalls(organization)) as unknown as {
      at: number;
      endedAt: number;
      status: number;
      connectionId?: string;
      clientRequestId?: string;
      page: number;
    }[];
    // When each request left its worker, by client-request-id, from the workers' debug lines.
    const sentAt = new Map<string, { time: number; pid: number }>();
    for (const line of (await readFile(workerLog, 'utf8')).split('\n')) {
      if (!line.includes('"request sent"')) continue;
      const entry = JSON.parse(line) as { time: string; pid: number; clientRequestId: string };
      sentAt.set(entry.clientRequestId, { time: Date.parse(entry.time), pid: entry.pid });
    }
    const throttles = calls.filter((call) => call.status === 429 || call.status === 503);
    for (const call of calls) {
      const ignored = throttles.find((answer) => answer !== call && call.at >= answer.endedAt + 50 && call.at < answer.endedAt + retryAfterSec * 1000);
      if (ignored) {
        console.log(
          `  early: arrived ${call.at - ignored.endedAt} ms after a ${ignored.status} left; ${call.connectionId === ignored.connectionId ? 'same' : 'other'} process; page ${call.page} (answer page ${ignored.page}); status ${call.status}; ${describeSend(sentAt.get(call.clientRequestId ?? ''), ignored.endedAt, call.at)}`,
        );
      }
    }
  }
} finally {
  await cluster.close();
  if (process.env['B5_KEEP_LOG']) console.log(`  worker log kept: ${workerLog}`);
  else await rm(workerLog, { force: true });
}

/** How long after a worker read an answer the others' news of it arrived (each news to the latest answer before it). */
function newsLags(count: CausalCount): number[] {
  const answers = [...count.answerTimes].sort((x, y) => x - y);
  return count.newsTimes
    .map((time) => {
      let latest: number | undefined;
      for (const answer of answers) if (answer <= time) latest = answer;
      return latest === undefined ? undefined : time - latest;
    })
    .filter((lag): lag is number => lag !== undefined)
    .sort((x, y) => x - y);
}

function describeSend(sent: { time: number; pid: number } | undefined, answerLeftMs: number, arrivedMs: number): string {
  if (!sent) return 'its send is not in the logs';
  return `sent by pid ${sent.pid} ${sent.time - answerLeftMs} ms after the answer left, ${arrivedMs - sent.time} ms before it arrived`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
