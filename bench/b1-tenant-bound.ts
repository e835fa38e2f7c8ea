/**
 * B1 — one tenant at its bound. C = 3 slots, L = 50 ms per call, 4 worker processes, 600 one-page
 * runs queued at once. The bound is C / L = 60 runs/s; target throughput ÷ bound ≥ 0.95 with the
 * simulator's peak in-flight at exactly 3.
 *
 *   npx tsx bench/b1-tenant-bound.ts [runs] [workers]
 */
import { startCluster } from './lib/cluster.js';

const runs = Number(process.argv[2] ?? 600);
const workers = Number(process.argv[3] ?? 4);
const slots = 3;
const latencyMs = 50;
const organization = 'b1.onmicrosoft.com';

const cluster = await startCluster({
  workers,
  concurrency: 10,
  jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  b1: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 10, latencyMs: ${latencyMs} }, limits: { exo: ${slots} } }
jobs:
  one-page: { tenant: b1, cmdlet: Get-AcceptedDomain }
`,
});
try {
  // Warm-up: provision the tenant, sign in, open connections in every worker.
  const warm = cluster.plan('one-page', workers * 3);
  const warmDone = (await cluster.watch(warm.map((plan) => plan.runId))).done;
  for (const plan of warm) await cluster.runs.enqueue(plan);
  await warmDone;
  await cluster.resetSimulatorStats();

  const plans = cluster.plan('one-page', runs);
  const { done } = await cluster.watch(plans.map((plan) => plan.runId));
  const started = Date.now();
  await cluster.runs.queue.addBulk(plans.map((plan) => ({ name: plan.job, data: plan, opts: { jobId: plan.runId, removeOnComplete: { count: 100_000 } } })));
  const finished = await done;
  const elapsedMs = Math.max(...finished.values()) - started;
  const stats = await cluster.simulatorStats(organization, 'exo');
  const throughput = runs / (elapsedMs / 1000);
  const bound = slots / (latencyMs / 1000);
  console.log(`B1 tenant bound: ${runs} one-page runs, C=${slots}, L=${latencyMs} ms, ${workers} worker processes`);
  console.log(`  elapsed          ${(elapsedMs / 1000).toFixed(2)} s (ideal ${(runs / bound).toFixed(2)} s)`);
  console.log(`  throughput       ${throughput.toFixed(1)} runs/s; bound C/L = ${bound} runs/s; ratio ${(throughput / bound).toFixed(3)} (target >= 0.95)`);
  console.log(`  peak in-flight   ${stats['peakInFlight']} (target 3); requests ${stats['requests']}; refused ${stats['refusedConcurrency']}`);
  // Turnover: from a call's end (its slot frees) to the start of the call that took the slot, as
  // the simulator saw them; each start is matched with the earliest end not yet taken.
  const calls = (await cluster.simulatorCalls(organization)).filter((call) => call.status === 200).sort((a, b) => a.at - b.at);
  const ends = calls.map((call) => call.endedAt).sort((a, b) => a - b);
  const inOrder: number[] = [];
  let nextEnd = 0;
  for (const call of calls.slice(slots)) {
    const freed = ends[nextEnd];
    if (freed === undefined) break;
    nextEnd += 1;
    inOrder.push(Math.max(0, call.at - freed));
  }
  const meanOf = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const fifth = Math.floor(inOrder.length / 5);
  console.log(
    `  turnover by time mean per fifth of the run: ${[0, 1, 2, 3, 4].map((part) => meanOf(inOrder.slice(part * fifth, (part + 1) * fifth)).toFixed(1)).join(' / ')} ms`,
  );
  const turnovers = [...inOrder].sort((a, b) => a - b);
  const at = (q: number): number => turnovers[Math.min(turnovers.length - 1, Math.floor(q * turnovers.length))] ?? 0;
  const mean = turnovers.reduce((sum, value) => sum + value, 0) / Math.max(1, turnovers.length);
  const busyMs = calls.reduce((sum, call) => sum + (call.endedAt - call.at), 0);
  console.log(
    `  turnover         mean ${mean.toFixed(1)} ms, p50 ${at(0.5)} / p90 ${at(0.9)} / p99 ${at(0.99)} / max ${at(1)} ms; mean call ${(busyMs / calls.length).toFixed(1)} ms`,
  );
} finally {
  await cluster.close();
}
