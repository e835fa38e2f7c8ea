import { loadConfigFile } from '../../config/index.js';
import { createRedisTenantLimiter, type KeyState } from '../../limits/index.js';
import { queueCounts } from '../../queue/index.js';
import { connectRedis, createRuntime, type GlobalOptions } from '../runtime.js';
import { printTable } from './sessions.js';

/**
 * `exorun status`: what is queued, and for every (tenant, service) who holds its slots, who waits
 * in line and whether it is cooling down after throttling, across all workers.
 */
export async function statusCommand(options: GlobalOptions & { json?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const { connection } = await connectRedis(runtime, 'client', 'exorun-status');
  try {
    const prefix = runtime.env.EXORUN_PREFIX;
    const limiter = createRedisTenantLimiter({ redis: connection, prefix });
    const [counts, keys] = await Promise.all([queueCounts({ connection, prefix }), limiter.keys()]);
    const slots = await Promise.all(keys.map((key) => limiter.inspect(key)));
    const limits = await limitsByOrganization(runtime.configFile);

    if (options.json) {
      process.stdout.write(`${JSON.stringify({ queues: counts, slots: slots.map((slot) => ({ ...slot, limit: limitOf(limits, slot) })) }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write('Queues\n');
    printTable(
      ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'COMPLETED'],
      Object.entries(counts).map(([name, count]) => [
        name,
        String((count['waiting'] ?? 0) + (count['prioritized'] ?? 0)),
        String(count['active'] ?? 0),
        String(count['delayed'] ?? 0),
        String(count['failed'] ?? 0),
        String(count['completed'] ?? 0),
      ]),
    );
    process.stdout.write('\nSlots\n');
    const busy = slots.filter((slot) => slot.holders.length > 0 || slot.waiters.length > 0 || slot.coolingMs > 0);
    if (busy.length === 0) process.stdout.write('No run holds or waits for a slot.\n');
    else {
      printTable(
        ['TENANT', 'SERVICE', 'HELD', 'LIMIT', 'WAITING', 'COOL-DOWN', 'HOLDERS (lease left)'],
        busy.map((slot) => [
          slot.key.tenant,
          slot.key.service,
          String(slot.holders.length),
          String(limitOf(limits, slot) ?? '?'),
          String(slot.waiters.length),
          slot.coolingMs > 0 ? `${(slot.coolingMs / 1000).toFixed(1)} s` : '-',
          slot.holders.map((holder) => `${holder.id.split(':')[0] ?? holder.id} (${Math.ceil(holder.remainingMs / 1000)} s)`).join(', '),
        ]),
      );
    }
    return 0;
  } finally {
    connection.disconnect();
  }
}

/** Slot limits from jobs.yaml when it can be read; status works without it. */
async function limitsByOrganization(file: string): Promise<Map<string, Record<string, number>>> {
  try {
    const config = await loadConfigFile(file);
    return new Map(Object.values(config.tenants).map((tenant) => [tenant.organization, { ...tenant.limits }]));
  } catch {
    return new Map();
  }
}

function limitOf(limits: Map<string, Record<string, number>>, slot: KeyState): number | undefined {
  return limits.get(slot.key.tenant)?.[slot.key.service];
}
