/**
 * B4 — a large result end to end. Get-Mailbox over 100k, 300k and 1M simulated mailboxes, pages
 * of 1,000, written as JSONL and CSV by one worker process (one run at a time, so one core does
 * the client side; the simulator runs in its own process). Prints objects/s and the worker's peak
 * RSS while each run was going (sampled from /proc every 50 ms).
 * Targets: peak RSS ≤ 150 MB and ≥ 50,000 objects/s at 1M; time linear and memory flat across sizes.
 *
 * With --select, the job selects twelve properties (an inventory report's columns; `$select` is sent,
 * so the service returns only those); without it every property of the simulated mailbox (about
 * 70, 1.3 KB of JSON each) is stored.
 *
 *   npx tsx bench/b4-million-objects.ts [--select] [sizes, default 100000,300000,1000000]
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Job } from 'bullmq';
import { startCluster } from './lib/cluster.js';

const args = process.argv.slice(2);
const select = args.includes('--select')
  ? ', select: [DisplayName, PrimarySmtpAddress, UserPrincipalName, Alias, RecipientTypeDetails, WhenCreated, Guid, ExchangeGuid, EmailAddresses, ArchiveStatus, LitigationHoldEnabled, ProhibitSendQuota]'
  : '';
const sizes = (args.find((arg) => !arg.startsWith('--')) ?? '100000,300000,1000000').split(',').map(Number);
const tenantName = (size: number): string => `m${size}`;

const cluster = await startCluster({
  workers: 1,
  concurrency: 1,
  jobsYaml: (outputs) =>
    [
      'version: 1',
      `defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl, csv] } }`,
      'tenants:',
      ...sizes.map(
        (size) => `  ${tenantName(size)}: { organization: ${tenantName(size)}.onmicrosoft.com, cloud: simulated, simulator: { mailboxes: ${size} } }`,
      ),
      '  warm: { organization: warm.onmicrosoft.com, cloud: simulated, simulator: { mailboxes: 2000 } }',
      'jobs:',
      ...sizes.map(
        (size) => `  mailboxes-${size}: { tenant: ${tenantName(size)}, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 1000${select} }`,
      ),
      '  warm-up: { tenant: warm, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, pageSize: 1000 }',
      '',
    ].join('\n'),
});

/** CPU seconds (user + system) the process has used, from /proc (clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

try {
  const pid = cluster.workerPids[0]!;
  const runOne = async (job: string): Promise<{ elapsedMs: number; peakKiB: number; objects: number; bytes: number; cpuS: number }> => {
    const cpuBefore = await cpuSeconds(pid);
    const [plan] = cluster.plan(job, 1);
    const { done } = await cluster.watch([plan!.runId]);
    let peakKiB = await rssKiB(pid);
    const sampler = setInterval(() => {
      rssKiB(pid).then(
        (value) => (peakKiB = Math.max(peakKiB, value)),
        () => undefined,
      );
    }, 50);
    const queuedAt = Date.now();
    await cluster.runs.queue.add(plan!.job, plan!, { jobId: plan!.runId });
    await done;
    clearInterval(sampler);
    const cpuS = (await cpuSeconds(pid)) - cpuBefore;
    const job_ = await Job.fromId(cluster.runs.queue, plan!.runId);
    const summary = job_?.returnvalue as { objectCount: number; outputRoot: string; files: string[] };
    let bytes = 0;
    for (const file of summary.files) bytes += (await stat(path.join(summary.outputRoot, file))).size;
    return { elapsedMs: (job_?.finishedOn ?? Date.now()) - queuedAt, peakKiB, objects: summary.objectCount, bytes, cpuS };
  };

  // Idle: the worker is ready (startCluster waited for it) and has run nothing yet.
  const idleKiB = await rssKiB(pid);
  await runOne('warm-up');
  const warmKiB = await rssKiB(pid);
  console.log(
    `B4 large results: Get-Mailbox${select ? ' with 12 selected properties' : ', every property'}, pages of 1000, JSONL + CSV, 1 worker process (worker RSS idle ${(idleKiB / 1024).toFixed(0)} MiB, after a 2,000-mailbox warm-up run ${(warmKiB / 1024).toFixed(0)} MiB)`,
  );
  // objects/s is end to end (bounded by whichever of the simulator and the worker is slower, each
  // on its own core); per worker CPU-s is what one core of exorun's worker processes per second.
  console.log('  objects     elapsed   objects/s   per worker CPU-s   peak RSS   files');
  for (const size of sizes) {
    const result = await runOne(`mailboxes-${size}`);
    if (result.objects !== size) throw new Error(`expected ${size} objects, stored ${result.objects}`);
    console.log(
      `  ${String(size).padStart(9)}  ${(result.elapsedMs / 1000).toFixed(2).padStart(7)} s  ${Math.round(size / (result.elapsedMs / 1000))
        .toString()
        .padStart(9)}  ${Math.round(size / result.cpuS)
        .toString()
        .padStart(16)}  ${(result.peakKiB / 1024).toFixed(0).padStart(5)} MiB   ${(result.bytes / 1024 / 1024).toFixed(0)} MiB`,
    );
    // Outputs of a million mailboxes are large: remove each run's files once measured.
    await rm(path.join(cluster.outputs, `mailboxes-${size}`), { recursive: true, force: true });
  }
  console.log('  targets: >= 50,000 objects per worker CPU-s, <= 150 MiB peak RSS at 1M, idle worker <= 90 MiB; time linear and memory flat across sizes');
} finally {
  await cluster.close();
}
