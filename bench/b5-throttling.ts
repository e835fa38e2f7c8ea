/**
 * B5 — a throttling service. One tenant (C = 3), 30 % of calls answered 429 or 503 (half each)
 * with `Retry-After: 1` (seconds); 100 three-page runs from 2 worker processes.
 * Targets: every run completes, no call reaches the service before a Retry-After it gave has
 * elapsed, and the peak in-flight stays ≤ C.
 *
 * "Before Retry-After elapsed" is counted by the simulator per (tenant, service): a call that
 * arrives inside the window opened by a 429/503 (from its send time + Retry-After) is early. The raw
 * count includes calls already in flight when the throttling answer was sent (nobody could have
 * known); the graced count forgives calls that arrived within 50 ms of the window opening.
 *
 *   npx tsx bench/b5-throttling.ts [--runs 100] [--rate 0.3] [--retry-after 1]
 */
import { parseArgs } from 'node:util';
import { startCluster } from './lib/cluster.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    rate: { type: 'string', default: '0.3' },
    'retry-after': { type: 'string', default: '1' },
    details: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const rate = Number(values.rate);
const retryAfterSec = Number(values['retry-after']);
const organization = 'b5.onmicrosoft.com';
const slots = 3;

const cluster = await startCluster({
  workers: 2,
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
    faults: { throttleRate: rate / 2, unavailableRate: rate / 2, retryAfterSec, seed: 7 },
  });
  await cluster.resetSimulatorStats();

  const plans = cluster.plan('three-pages', runs);
  const { done } = await cluster.watch(plans.map((plan) => plan.runId));
  const started = Date.now();
  await cluster.runs.queue.addBulk(
    plans.map((plan) => ({ name: plan.job, data: plan, opts: { jobId: plan.runId, attempts: 10, backoff: { type: 'exponential', delay: 500 } } })),
  );
  const finished = await done;
  const elapsedMs = Math.max(...finished.values()) - started;
  const stats = await cluster.simulatorStats(organization, 'exo');
  const byStatus = stats['byStatus'] as unknown as Record<string, number>;
  console.log(
    `B5 throttling: ${runs} three-page runs, C=${slots}, ${Math.round(rate * 100)} % of calls 429/503 with Retry-After ${retryAfterSec} s, 2 workers`,
  );
  console.log(`  completed        ${finished.size} of ${runs} in ${(elapsedMs / 1000).toFixed(1)} s`);
  console.log(`  calls            ${stats['requests']} (by status ${JSON.stringify(byStatus)})`);
  console.log(`  early calls      ${stats['callsInRetryAfterWindow']} raw, ${stats['earlyRetries']} after a 50 ms grace (target 0)`);
  console.log(`  peak in-flight   ${stats['peakInFlight']} (limit ${slots}); refused for concurrency ${stats['refusedConcurrency']}`);
  if (values.details) {
    // Each early call with the throttling answer it ignored: how long after that answer it came,
    // and whether it came from the same process (connection-id) and page.
    const calls = (await cluster.simulatorCalls(organization)) as unknown as {
      at: number;
      endedAt: number;
      status: number;
      connectionId?: string;
      page: number;
    }[];
    const throttles = calls.filter((call) => call.status === 429 || call.status === 503);
    for (const call of calls) {
      const ignored = throttles.find((answer) => answer !== call && call.at >= answer.endedAt + 50 && call.at < answer.endedAt + retryAfterSec * 1000);
      if (ignored) {
        console.log(
          `  early: ${call.at - ignored.endedAt} ms after a ${ignored.status}; ${call.connectionId === ignored.connectionId ? 'same' : 'other'} process; page ${call.page} (answer page ${ignored.page}); status ${call.status}`,
        );
      }
    }
  }
} finally {
  await cluster.close();
}
