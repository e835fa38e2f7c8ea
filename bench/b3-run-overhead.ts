/**
 * B3 — what exorun adds to a run beyond the service's own time. One worker process, one-page runs
 * queued one at a time (so no run waits for another), simulator latency L. For each run:
 *
 *   overhead = (queued → stored) − (time the simulator spent on the run's calls)
 *
 * "queued" is just before `queue.add` in this process; "stored" is BullMQ's `finishedOn`, set after
 * the processor returned, i.e. after the output files and manifest were fsynced and renamed.
 * Targets: p50 ≤ 5 ms, p99 ≤ 25 ms.
 *
 *   npx tsx bench/b3-run-overhead.ts [--runs 500] [--latency 20]
 */
import { parseArgs } from 'node:util';
import { Job } from 'bullmq';
import { percentile, startCluster } from './lib/cluster.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '500' }, latency: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const latencyMs = Number(values.latency);
const organization = 'b3.onmicrosoft.com';

const cluster = await startCluster({
  workers: 1,
  concurrency: 10,
  jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl, csv] } }
tenants:
  b3: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 10, latencyMs: ${latencyMs} } }
jobs:
  domains: { tenant: b3, cmdlet: Get-AcceptedDomain }
`,
});
try {
  interface Sample {
    totalMs: number;
    serverMs: number;
    /** queued → a worker took the run (BullMQ `processedOn`). */
    pickupMs: number;
  }
  const measure = async (count: number): Promise<Sample[]> => {
    const results: Sample[] = [];
    for (const plan of cluster.plan('domains', count)) {
      const queuedAt = Date.now();
      await cluster.runs.queue.add(plan.job, plan, { jobId: plan.runId });
      // Polled rather than watched: a listener attached per run can miss a run that finishes before
      // it is subscribed. Polling does not change the figures, which come from finishedOn.
      let job = await Job.fromId(cluster.runs.queue, plan.runId);
      while (job?.finishedOn === undefined) {
        if (job?.failedReason) throw new Error(`run ${plan.runId} failed: ${job.failedReason}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        job = await Job.fromId(cluster.runs.queue, plan.runId);
      }
      const storedAt = job?.finishedOn;
      if (storedAt === undefined) throw new Error(`run ${plan.runId} has no finishedOn`);
      const calls = (await cluster.simulatorCalls(organization)).filter((call) => call.at >= queuedAt && call.at <= storedAt);
      results.push({
        totalMs: storedAt - queuedAt,
        serverMs: calls.reduce((sum, call) => sum + (call.endedAt - call.at), 0),
        pickupMs: (job?.processedOn ?? storedAt) - queuedAt,
      });
    }
    return results;
  };
  await measure(20); // warm-up: sign-in, connection, JIT

  const results = await measure(runs);
  const overhead = results.map((result) => result.totalMs - result.serverMs).sort((a, b) => a - b);
  const total = results.map((result) => result.totalMs).sort((a, b) => a - b);
  const server = results.map((result) => result.serverMs).sort((a, b) => a - b);
  const pickup = results.map((result) => result.pickupMs).sort((a, b) => a - b);
  const row = (name: string, list: number[]): string =>
    `  ${name.padEnd(16)} p50 ${percentile(list, 50)} ms, p90 ${percentile(list, 90)} ms, p99 ${percentile(list, 99)} ms, max ${list.at(-1)} ms`;
  console.log(`B3 per-run overhead: ${runs} one-page runs queued one at a time, 1 worker, L=${latencyMs} ms, JSONL + CSV`);
  console.log(row('queued → stored', total));
  console.log(row('server time', server));
  console.log(row('queued → taken', pickup));
  console.log(row('overhead', overhead) + ' (targets p50 <= 5 ms, p99 <= 25 ms)');
} finally {
  await cluster.close();
}
