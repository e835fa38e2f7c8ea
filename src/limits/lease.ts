import { setMaxListeners } from 'node:events';
import { AppError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { Lease, LeaseKey } from '../core/index.js';
import type { MonotonicClock } from './clock.js';
import type { CoolDownBoard } from './cool-downs.js';
import { admitRequest } from './request-gate.js';

/** The Redis side of one lease, as the limiter provides it. */
export interface LeaseBackend {
  /**
   * The heartbeat: extends the lease in Redis, waiting for the connection at most `waitMs`.
   * `coolingMs` is the key's stored cool-down. Rejects (REDIS_UNAVAILABLE) without an answer.
   */
  refresh(holderId: string, waitMs: number): Promise<{ kept: boolean; coolingMs: number }>;
  /** Frees the slot (handing it on), waiting at most `waitMs`; true when it was still held. */
  release(holderId: string, waitMs: number): Promise<boolean>;
  /** The key was throttled: applied in this process at once, then written and announced. */
  throttled(waitMs: number): void;
}

export interface LeaseOptions {
  key: LeaseKey;
  /** The key as the cool-down board names it. */
  member: string;
  holderId: string;
  leaseTtlMs: number;
  /** Monotonic time until which the slot is surely held (from the grant's confirmation). */
  validUntilMs: number;
  /** How long a release of an already lost lease waits for Redis (it only tidies up then). */
  redisWaitMs: number;
  clock: MonotonicClock;
  board: CoolDownBoard;
  backend: LeaseBackend;
  logger?: Logger | undefined;
  /** Called once, when the lease is found lost. */
  onLost?: (() => void) | undefined;
  /** Called once, when the lease ends (released, lost or stopped), so the limiter forgets it. */
  onEnd?: (() => void) | undefined;
}

/** A lease as the limiter manages it: `stop` ends its heartbeat without releasing (the limiter is closing). */
export interface ManagedLease extends Lease {
  stop(): void;
  /** Monotonic time until which the slot is surely held. */
  validUntilMs(): number;
}

/**
 * One held slot. A heartbeat confirms it in Redis every third of the TTL; each confirmation makes
 * it surely held until the moment the confirmation was sent plus the TTL (Redis extended it at a
 * later moment). While Redis is away the heartbeat keeps asking and the lease stays usable until
 * that validity runs out; then it is lost, and so it is as soon as Redis says it no longer has it.
 */
export function createLease(options: LeaseOptions): ManagedLease {
  const { key, member, holderId, leaseTtlMs, clock, board, backend } = options;
  const heartbeatIntervalMs = Math.max(50, Math.floor(leaseTtlMs / 3));
  const controller = new AbortController();
  // Every request waiting at the gate (pages read ahead, forEach items, retries) listens to it.
  setMaxListeners(0, controller.signal);
  let validUntilMs = options.validUntilMs;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let validityTimer: NodeJS.Timeout | undefined;
  let ended = false;
  let releasing: Promise<boolean> | undefined;

  const end = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(heartbeatTimer);
    clearTimeout(validityTimer);
    options.onEnd?.();
  };

  const lose = (reason: string): void => {
    if (controller.signal.aborted) return;
    options.logger?.warn({ tenant: key.tenant, service: key.service, holderId, reason }, 'lease lost');
    controller.abort(
      new AppError('LIMIT_LEASE_LOST', `Lost the ${key.service} slot for ${key.tenant} (${reason}); this run stopped sending and will be retried.`, {
        details: { tenant: key.tenant, service: key.service, holderId },
      }),
    );
    options.onLost?.();
    if (!releasing) end();
  };

  const armValidityTimer = (): void => {
    clearTimeout(validityTimer);
    validityTimer = setTimeout(
      () => {
        if (clock.now() >= validUntilMs) lose('the heartbeat could not confirm it in time');
        else armValidityTimer();
      },
      Math.max(0, validUntilMs - clock.now()),
    );
    validityTimer.unref();
  };

  // Beats so that at least two intervals of validity are always in hand: a lease known only from a
  // grant notice that came late starts with less than a full TTL and is confirmed sooner.
  const scheduleHeartbeat = (): void => {
    if (ended) return;
    const delayMs = Math.min(heartbeatIntervalMs, Math.max(0, validUntilMs - clock.now() - 2 * heartbeatIntervalMs));
    heartbeatTimer = setTimeout(() => void beat(), delayMs);
    heartbeatTimer.unref();
  };

  const beat = async (): Promise<void> => {
    if (ended || controller.signal.aborted) return;
    const sentAtMs = clock.now();
    try {
      // Waits for a connection that is away for as long as the lease stays usable anyway.
      const { kept, coolingMs } = await backend.refresh(holderId, Math.max(1, validUntilMs - sentAtMs));
      if (ended) return;
      if (!kept) {
        lose('Redis no longer has it: it expired or was taken over');
        return;
      }
      validUntilMs = Math.max(validUntilMs, sentAtMs + leaseTtlMs);
      armValidityTimer();
      if (coolingMs > 0) board.extend(member, coolingMs);
    } catch (error) {
      if (ended) return;
      options.logger?.debug({ err: error, tenant: key.tenant, service: key.service, holderId }, 'heartbeat failed; trying again');
    }
    scheduleHeartbeat();
  };

  armValidityTimer();
  scheduleHeartbeat();

  const slot = {
    key,
    member,
    signal: controller.signal,
    validUntilMs: () => validUntilMs,
    expire: () => lose('the heartbeat could not confirm it in time'),
  };

  return {
    key,
    holderId,
    signal: controller.signal,
    validUntilMs: () => validUntilMs,
    admit(admitOptions) {
      if (releasing || ended) {
        const reason: unknown = controller.signal.reason;
        if (reason instanceof Error) return Promise.reject(reason);
        return Promise.reject(
          new AppError('LIMIT_LEASE_LOST', `The ${key.service} slot for ${key.tenant} was already given back; nothing more may be sent on it.`),
        );
      }
      return admitRequest({ slot, board, clock, maxWaitMs: admitOptions.maxWaitMs, signal: admitOptions.signal });
    },
    throttled(waitMs) {
      backend.throttled(waitMs);
    },
    release() {
      releasing ??= (async () => {
        clearTimeout(heartbeatTimer);
        const lostBefore = controller.signal.aborted;
        // A held lease waits for Redis as long as it is surely still ours; past that nobody can
        // say it still was, and the run must not commit on it.
        const waitMs = lostBefore ? options.redisWaitMs : validUntilMs - clock.now();
        let held = false;
        try {
          held = waitMs > 0 && (await backend.release(holderId, waitMs));
        } catch (error) {
          if (!lostBefore) lose(`Redis did not confirm the release before the lease's validity ran out: ${(error as Error).message}`);
        } finally {
          end();
        }
        if (!held && !lostBefore) lose('it was no longer held when it was given back');
        return held && !lostBefore;
      })();
      return releasing;
    },
    stop() {
      end();
    },
  };
}
