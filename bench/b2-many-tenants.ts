/**
 * B2 — many tenants at once. 200 tenants (limit C = 3 each) × 5 runs queued together, 50 worker
 * slots in all (5 worker processes × 10), every call L ms at the simulator.
 *
 * The ideal makespan is what the slots allow: max(total runs / worker slots, runs per tenant / C
 * rounded up) × L. Targets: makespan ÷ ideal ≤ 1.10 and Jain's fairness index over per-tenant
 * completion times (queue → the tenant's last run stored) ≥ 0.95.
 *
 * The runs are queued the way a scheduler fires nightly jobs across tenants: first run of every
 * tenant, then the second of every tenant, … (job-major). `--order tenant-major` queues each
 * tenant's five runs together instead.
 *
 *   npx tsx bench/b2-many-tenants.ts [--tenants 200] [--runs 5] [--latency 250] [--order job-major|tenant-major]
 */
import { parseArgs } from 'node:util';
import { startCluster } from './lib/cluster.js';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '200' },
    runs: { type: 'string', default: '5' },
    latency: { type: 'string', default: '250' },
    workers: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '10' },
    order: { type: 'string', default: 'job-major' },
  },
});
const tenants = Number(values.tenants);
const runsPerTenant = Number(values.runs);
const latencyMs = Number(values.latency);
const workers = Number(values.workers);
const concurrency = Number(values.concurrency);
const slots = 3;
const tenantName = (index: number): string => `t${String(index).padStart(3, '0')}`;

const cluster = await startCluster({
  workers,
  concurrency,
  jobsYaml: (outputs) =>
    [
      'version: 1',
      `defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }`,
      'tenants:',
      ...Array.from(
        { length: tenants },
        (_, index) =>
          `  ${tenantName(index)}: { organization: ${tenantName(index)}.onmicrosoft.com, cloud: simulated, simulator: { mailboxes: 5, latencyMs: ${latencyMs} }, limits: { exo: ${slots} } }`,
      ),
      'jobs:',
      ...Array.from({ length: tenants }, (_, index) => `  domains-${tenantName(index)}: { tenant: ${tenantName(index)}, cmdlet: Get-AcceptedDomain }`),
      '',
    ].join('\n'),
});
try {
  // Warm-up: provision every tenant in the simulator and sign in once per worker and tenant, so
  // the measurement is about slots, not first sign-ins.
  const warm = Array.from({ length: tenants }, (_, index) => cluster.plan(`domains-${tenantName(index)}`, workers * 3)).flat();
  const warmDone = (await cluster.watch(warm.map((plan) => plan.runId))).done;
  await cluster.runs.queue.addBulk(warm.map((plan) => ({ name: plan.job, data: plan, opts: { jobId: plan.runId } })));
  await warmDone;
  await cluster.resetSimulatorStats();

  const perTenant = Array.from({ length: tenants }, (_, index) => cluster.plan(`domains-${tenantName(index)}`, runsPerTenant));
  const plans =
    values.order === 'tenant-major' ? perTenant.flat() : Array.from({ length: runsPerTenant }, (_, round) => perTenant.map((runs) => runs[round]!)).flat();
  const tenantOf = new Map(plans.map((plan) => [plan.runId, plan.tenant]));
  const { done } = await cluster.watch(plans.map((plan) => plan.runId));
  const started = Date.now();
  await cluster.runs.queue.addBulk(plans.map((plan) => ({ name: plan.job, data: plan, opts: { jobId: plan.runId } })));
  const finished = await done;

  const lastByTenant = new Map<string, number>();
  for (const [runId, at] of finished) {
    const tenant = tenantOf.get(runId)!;
    lastByTenant.set(tenant, Math.max(lastByTenant.get(tenant) ?? 0, at - started));
  }
  const completion = [...lastByTenant.values()];
  const sum = completion.reduce((total, value) => total + value, 0);
  const sumOfSquares = completion.reduce((total, value) => total + value * value, 0);
  const jain = (sum * sum) / (completion.length * sumOfSquares);
  const makespanMs = Math.max(...completion);
  const totalRuns = tenants * runsPerTenant;
  const idealMs = Math.max(Math.ceil(totalRuns / (workers * concurrency)), Math.ceil(runsPerTenant / slots)) * latencyMs;
  let peak = 0;
  for (let index = 0; index < tenants; index += 1) {
    const stats = await cluster.simulatorStats(`${tenantName(index)}.onmicrosoft.com`, 'exo');
    peak = Math.max(peak, stats['peakInFlight'] ?? 0);
  }
  const sorted = [...completion].sort((a, b) => a - b);
  console.log(
    `B2 many tenants: ${tenants} tenants x ${runsPerTenant} runs (${values.order}), ${workers * concurrency} worker slots, C=${slots}, L=${latencyMs} ms`,
  );
  console.log(
    `  makespan         ${(makespanMs / 1000).toFixed(2)} s; ideal ${(idealMs / 1000).toFixed(2)} s; ratio ${(makespanMs / idealMs).toFixed(3)} (target <= 1.10)`,
  );
  console.log(`  Jain's index     ${jain.toFixed(3)} over per-tenant completion times (target >= 0.95)`);
  console.log(
    `  tenant done at   min ${(sorted[0]! / 1000).toFixed(2)} s, median ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(2)} s, max ${(makespanMs / 1000).toFixed(2)} s`,
  );
  console.log(`  peak in-flight   ${peak} on the busiest tenant (limit ${slots})`);
} finally {
  await cluster.close();
}
