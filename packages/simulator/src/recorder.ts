import type { ServiceName } from './types.js';
import { createEntraStats, type EntraCounter } from './entra/entra-stats.js';
import type { CallRecord, KeyStats, Recorder } from './types.js';

/** Counters a request can bump besides requests/status. */
export type CallMark = 'refusedConcurrency' | 'throttled' | 'expiredTokenUses' | 'caeChallenges' | 'injectedRefusals' | 'injectedServerErrors';

/** One request being recorded; `finish` is idempotent. */
export interface CallHandle {
  /** In-flight count for the (tenant, service) including this request, at arrival. */
  readonly inFlightAtArrival: number;
  mark(mark: CallMark): void;
  finish(details: Omit<CallRecord, 'at' | 'endedAt' | 'tenantId' | 'service'>): void;
}

export interface SimulatorRecorder extends Recorder {
  /**
   * Registers an arriving request. `inFlight: false` for requests that never hold a connection
   * slot (the IPPS redirect). `known: false` records the call only (unknown tenant).
   */
  begin(tenantId: string, service: ServiceName, options: { inFlight: boolean; known: boolean }): CallHandle;
  /** After a 429/503 with Retry-After: requests for the key before `untilMs` count as early retries. */
  noteRetryAfter(tenantId: string, service: ServiceName, untilMs: number): void;
  /** Bumps a token endpoint counter (tenant id, or undefined before a tenant is known). */
  countEntra(tenantId: string | undefined, counter: EntraCounter): void;
}

interface Counters {
  inFlight: number;
  peakInFlight: number;
  requests: number;
  byStatus: Map<string, number>;
  refusedConcurrency: number;
  throttled: number;
  earlyRetries: number;
  callsInRetryAfterWindow: number;
  expiredTokenUses: number;
  caeChallenges: number;
  injectedRefusals: number;
  injectedServerErrors: number;
}

const MARKS: readonly CallMark[] = ['refusedConcurrency', 'throttled', 'expiredTokenUses', 'caeChallenges', 'injectedRefusals', 'injectedServerErrors'];

export function createRecorder(options: {
  /** Maps an organization or id to the tenant id stats are kept under. */
  resolveTenant: (organizationOrId: string) => string | undefined;
  capacity?: number;
  now?: () => number;
  /**
   * Requests arriving within this long after a throttle answer are not counted as early retries:
   * other clients may have sent them before anyone could know of the answer. Default 0.
   */
  earlyRetryGraceMs?: number;
}): SimulatorRecorder {
  const capacity = options.capacity ?? 10_000;
  const now = options.now ?? Date.now;
  const counters = new Map<string, Counters>();
  /**
   * Per key, the Retry-After windows still open: each throttling answer's send time and the
   * instant its Retry-After points at. A call is in a window when any open one covers it, and early
   * when one covers it that was sent at least the grace before it (calls already on their way when
   * an answer left could not have known of it, but did know of the older ones).
   */
  const retryAfterWindows = new Map<string, { from: number; until: number }[]>();
  const graceMs = options.earlyRetryGraceMs ?? 0;
  const entra = createEntraStats();
  let ring: CallRecord[] = [];
  let ringStart = 0;

  const keyOf = (tenantId: string, service?: ServiceName): string => `${tenantId}|${service ?? '*'}`;
  function countersFor(key: string): Counters {
    let found = counters.get(key);
    if (!found) {
      found = {
        inFlight: 0,
        peakInFlight: 0,
        requests: 0,
        byStatus: new Map(),
        refusedConcurrency: 0,
        throttled: 0,
        earlyRetries: 0,
        callsInRetryAfterWindow: 0,
        expiredTokenUses: 0,
        caeChallenges: 0,
        injectedRefusals: 0,
        injectedServerErrors: 0,
      };
      counters.set(key, found);
    }
    return found;
  }

  function push(record: CallRecord): void {
    if (ring.length < capacity) {
      ring.push(record);
    } else {
      ring[ringStart] = record;
      ringStart = (ringStart + 1) % capacity;
    }
  }

  function toStats(found: Counters | undefined): KeyStats {
    return {
      inFlight: found?.inFlight ?? 0,
      peakInFlight: found?.peakInFlight ?? 0,
      requests: found?.requests ?? 0,
      byStatus: Object.fromEntries(found?.byStatus ?? []),
      refusedConcurrency: found?.refusedConcurrency ?? 0,
      throttled: found?.throttled ?? 0,
      earlyRetries: found?.earlyRetries ?? 0,
      callsInRetryAfterWindow: found?.callsInRetryAfterWindow ?? 0,
      expiredTokenUses: found?.expiredTokenUses ?? 0,
      caeChallenges: found?.caeChallenges ?? 0,
      injectedRefusals: found?.injectedRefusals ?? 0,
      injectedServerErrors: found?.injectedServerErrors ?? 0,
    };
  }

  return {
    begin(tenantId, service, { inFlight, known }) {
      const at = now();
      const targets = known ? [countersFor(keyOf(tenantId, service)), countersFor(keyOf(tenantId))] : [];
      const open = (retryAfterWindows.get(keyOf(tenantId, service)) ?? []).filter((window) => at < window.until);
      const inWindow = open.length > 0;
      const early = open.some((window) => at >= window.from + graceMs);
      for (const target of targets) {
        target.requests++;
        if (early && inFlight) target.earlyRetries++;
        if (inWindow && inFlight) target.callsInRetryAfterWindow++;
        if (inFlight) {
          target.inFlight++;
          target.peakInFlight = Math.max(target.peakInFlight, target.inFlight);
        }
      }
      let finished = false;
      return {
        inFlightAtArrival: targets[0]?.inFlight ?? 0,
        mark(mark) {
          for (const target of targets) target[mark]++;
        },
        finish(details) {
          if (finished) return;
          finished = true;
          for (const target of targets) {
            if (inFlight) target.inFlight--;
            const status = String(details.status);
            target.byStatus.set(status, (target.byStatus.get(status) ?? 0) + 1);
          }
          push({ at, endedAt: now(), tenantId, service, ...details });
        },
      };
    },
    noteRetryAfter(tenantId, service, untilMs) {
      const key = keyOf(tenantId, service);
      const at = now();
      const open = (retryAfterWindows.get(key) ?? []).filter((window) => window.until > at);
      open.push({ from: at, until: untilMs });
      retryAfterWindows.set(key, open);
    },
    countEntra(tenantId, counter) {
      entra.count(tenantId, counter);
    },
    entra(tenant) {
      return entra.get(tenant === undefined ? undefined : (options.resolveTenant(tenant) ?? tenant.toLowerCase()));
    },
    stats(tenant, service) {
      const tenantId = options.resolveTenant(tenant) ?? tenant.toLowerCase();
      return toStats(counters.get(keyOf(tenantId, service)));
    },
    snapshot() {
      const out: Record<string, Record<ServiceName, KeyStats>> = {};
      for (const key of counters.keys()) {
        const [tenantId, service] = key.split('|') as [string, string];
        if (service !== '*') continue;
        out[tenantId] = { exo: toStats(counters.get(keyOf(tenantId, 'exo'))), ipps: toStats(counters.get(keyOf(tenantId, 'ipps'))) };
      }
      return out;
    },
    calls(tenant) {
      const all = [...ring.slice(ringStart), ...ring.slice(0, ringStart)];
      if (tenant === undefined) return all;
      const tenantId = options.resolveTenant(tenant) ?? tenant.toLowerCase();
      return all.filter((call) => call.tenantId === tenantId);
    },
    reset() {
      for (const found of counters.values()) {
        found.peakInFlight = found.inFlight;
        found.requests = 0;
        found.byStatus.clear();
        found.earlyRetries = 0;
        for (const mark of MARKS) found[mark] = 0;
      }
      entra.reset();
      ring = [];
      ringStart = 0;
    },
  };
}
