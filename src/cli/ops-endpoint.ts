import type { Runtime } from './runtime.js';
import { createMetrics, type ExorunMetrics } from '../core/index.js';
import { startOpsServer, type OpsServer, type ReadinessCheck } from '../ops/index.js';
import { checkRedis, createRedisConnection, redactUrl } from '../queue/index.js';
import { queuePrometheusText } from '../queue/index.js';
import { openQueues, type OpenQueues } from '../queue/index.js';
import type { SchedulerService } from '../scheduler/index.js';
import type { WorkerService } from '../worker/index.js';

export interface OpsEndpoint {
  /** Absent when the endpoint is off: nothing would ever read them. */
  readonly metrics: ExorunMetrics | undefined;
  /** Starts the HTTP endpoint once the services exist; a no-op when it is turned off. */
  start(services: { worker?: WorkerService; scheduler?: SchedulerService }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The metrics registry is made first (services count into it); the HTTP endpoint starts after the
 * services, with readiness checks for what this process runs. `defaultPort` is used when
 * EXORUN_HTTP_PORT is unset (`up` has one; worker and scheduler processes do not, since several
 * may share a machine).
 */
export async function createOpsEndpoint(runtime: Runtime, redisUrl: string, defaultPort: number | undefined): Promise<OpsEndpoint> {
  const port = runtime.env.EXORUN_HTTP_PORT ?? defaultPort;
  const metrics = port ? await createMetrics() : undefined;
  let server: OpsServer | undefined;
  let dashboardQueues: OpenQueues | undefined;
  const connection = createRedisConnection(redisUrl, 'client', 'exorun-ops');

  return {
    metrics,
    async start(services) {
      const { worker, scheduler } = services;
      if (!port || !metrics) return;
      if (worker) {
        metrics.observeSlots(async () =>
          Promise.all(
            (await worker.limiter.keys()).map(async (key) => {
              const state = await worker.limiter.inspect(key);
              return { tenant: key.tenant, service: key.service, holders: state.holders.length, waiters: state.waiters.length, coolingMs: state.coolingMs };
            }),
          ),
        );
      }
      const readiness: ReadinessCheck[] = [
        {
          name: 'redis',
          check: async () => {
            await checkRedis(connection, redisUrl, 2_000);
            return { ok: true, detail: redactUrl(redisUrl) };
          },
        },
      ];
      if (worker) readiness.push({ name: 'worker', check: () => Promise.resolve({ ok: worker.isRunning() }) });
      if (scheduler) {
        readiness.push({
          name: 'schedules',
          check: async () => {
            const overdue = await scheduler.overdueSchedules();
            return overdue.length === 0 ? { ok: true } : { ok: false, detail: `overdue: ${overdue.map((entry) => entry.id).join(', ')}` };
          },
        });
      }
      const token = runtime.env.EXORUN_DASHBOARD_TOKEN;
      let routes: Parameters<typeof startOpsServer>[0]['routes'];
      if (token !== undefined) {
        // Bull Board brings express and its UI along: loaded only when the dashboard is turned on,
        // so every other process starts without it.
        const { createDashboardRoute } = await import('../ops/dashboard.js');
        dashboardQueues = openQueues({ connection, prefix: runtime.env.EXORUN_PREFIX });
        routes = createDashboardRoute({ queues: dashboardQueues, token });
      }
      try {
        server = await startOpsServer({
          host: runtime.env.EXORUN_HTTP_HOST,
          port,
          metrics,
          extraMetrics: () => queuePrometheusText({ connection, prefix: runtime.env.EXORUN_PREFIX }),
          readiness,
          logger: runtime.logger,
          ...(routes === undefined ? {} : { routes }),
        });
        runtime.logger.info(
          { url: `${server.url}/dashboard` },
          token === undefined ? 'dashboard off (set EXORUN_DASHBOARD_TOKEN to serve it)' : 'dashboard on (bearer token)',
        );
      } catch (error) {
        // The default port of `up` may be taken by another exorun; that must not stop the work.
        if (runtime.env.EXORUN_HTTP_PORT === undefined && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          runtime.logger.warn({ port }, 'operator endpoint not started: the port is in use (set EXORUN_HTTP_PORT)');
          return;
        }
        throw error;
      }
    },
    async close() {
      await server?.close();
      await dashboardQueues?.close();
      connection.disconnect();
    },
  };
}
