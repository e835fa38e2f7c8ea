import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one exorun process. Counters are per process (Prometheus sums them
 * across instances); slot holders and waiters are read from Redis at scrape time, so any instance
 * reports the whole deployment's view of them. Slot metrics are labelled with the organization
 * (slots belong to the Microsoft tenant); run metrics with the jobs.yaml job and tenant names.
 */
export interface ExorunMetrics {
  readonly registry: Registry;
  /** A run found no free slot and was re-delayed (it holds no worker slot while it waits). */
  readonly slotWaits: Counter<'tenant' | 'service'>;
  /** The service asked to slow down (429, 503, the concurrency refusal). */
  readonly throttles: Counter<'tenant' | 'service' | 'status'>;
  /** A worker lost its lease (stall, partition) and stopped sending. */
  readonly leaseLosses: Counter<'tenant' | 'service'>;
  /** Runs that ended: succeeded, failed, retried (will try again), delayed (re-delayed without an attempt). */
  readonly runs: Counter<'job' | 'tenant' | 'outcome'>;
  readonly runDuration: Histogram<'job' | 'tenant'>;
  readonly objects: Counter<'job' | 'tenant'>;
  /** Registers the Redis-backed gauges; `read` is called at scrape time. */
  observeSlots(read: () => Promise<{ tenant: string; service: string; holders: number; waiters: number; coolingMs: number }[]>): void;
}

/**
 * prom-client is loaded here, when a process serves metrics (EXORUN_HTTP_PORT, or `up`'s default):
 * a worker without an endpoint counts nothing and carries none of it.
 */
export async function createMetrics(options: { defaultMetrics?: boolean } = {}): Promise<ExorunMetrics> {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = await import('prom-client');
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'exorun_process_' });
  const tenantService = ['tenant', 'service'] as const;
  let readSlots: Parameters<ExorunMetrics['observeSlots']>[0] | undefined;
  let lastSlots: Awaited<ReturnType<NonNullable<typeof readSlots>>> = [];

  // One read serves all three gauges of a scrape.
  const slotGauge = (name: string, help: string, pick: (slot: (typeof lastSlots)[number]) => number, refresh: boolean): Gauge<'tenant' | 'service'> =>
    new Gauge({
      name,
      help,
      labelNames: tenantService,
      registers: [registry],
      async collect() {
        if (!readSlots) return;
        if (refresh) lastSlots = await readSlots().catch(() => lastSlots);
        this.reset();
        for (const slot of lastSlots) this.set({ tenant: slot.tenant, service: slot.service }, pick(slot));
      },
    });
  // prom-client collects gauges in registration order: the first one refreshes the shared read.
  slotGauge('exorun_slot_holders', 'Leases held per tenant and service, across all workers.', (slot) => slot.holders, true);
  slotGauge('exorun_slot_waiters', 'Runs waiting in line for a slot, per tenant and service.', (slot) => slot.waiters, false);
  slotGauge('exorun_slot_cooldown_seconds', 'Time left before a throttled tenant and service may be called again.', (slot) => slot.coolingMs / 1000, false);

  return {
    registry,
    slotWaits: new Counter({
      name: 'exorun_slot_waits_total',
      help: 'Runs re-delayed because no slot was free.',
      labelNames: tenantService,
      registers: [registry],
    }),
    throttles: new Counter({
      name: 'exorun_throttles_total',
      help: 'Times the service asked to slow down.',
      labelNames: ['tenant', 'service', 'status'],
      registers: [registry],
    }),
    leaseLosses: new Counter({
      name: 'exorun_lease_losses_total',
      help: 'Leases lost by a worker (it stopped sending).',
      labelNames: tenantService,
      registers: [registry],
    }),
    runs: new Counter({ name: 'exorun_runs_total', help: 'Runs that ended, by outcome.', labelNames: ['job', 'tenant', 'outcome'], registers: [registry] }),
    runDuration: new Histogram({
      name: 'exorun_run_duration_seconds',
      help: 'Duration of successful runs, from slot to stored output.',
      labelNames: ['job', 'tenant'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    objects: new Counter({ name: 'exorun_objects_total', help: 'Objects stored.', labelNames: ['job', 'tenant'], registers: [registry] }),
    observeSlots(read) {
      readSlots = read;
    },
  };
}
