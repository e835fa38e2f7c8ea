/**
 * A monotonic clock (ms). Lease validity and cool-downs are measured with it, never with the wall
 * clock: a wall-clock step (NTP, a VM resumed) must neither stretch a lease nor cut a cool-down.
 */
export interface MonotonicClock {
  now(): number;
}

export const monotonicClock: MonotonicClock = { now: () => performance.now() };

/**
 * Maps Redis time (the clock every script reads with TIME) onto this process's monotonic clock,
 * erring early. A script that ran at Redis time `r` after the caller sent it at local time `s` shows
 * that `r - s` is at least the clocks' offset (the script cannot run before it was sent), so
 * `redisMs - min(r - s)` is never later than the local moment Redis reaches `redisMs`. A lease known
 * only from a grant notice is therefore never believed valid longer than Redis keeps it, however
 * long the notice took to be read (a stopped process reads it late and finds it already expired).
 */
export interface RedisTimeMapping {
  /** One script reply: sent at `sentAtMs` (local), executed at `redisNowMs` (Redis time). */
  observe(sentAtMs: number, redisNowMs: number): void;
  /** The local time by which Redis time has surely not yet reached `redisMs`; undefined before any reply. */
  toLocal(redisMs: number): number | undefined;
}

/**
 * Keeps the tightest bound of the latest few replies: one reply that waited long (a command queued
 * while Redis was away) must not make every later mapping too early, and a bound from long ago
 * must not outlive a slow drift between the clocks.
 */
const KEPT_SAMPLES = 8;

export function createRedisTimeMapping(): RedisTimeMapping {
  const bounds: number[] = [];
  return {
    observe(sentAtMs, redisNowMs) {
      bounds.push(redisNowMs - sentAtMs);
      if (bounds.length > KEPT_SAMPLES) bounds.shift();
    },
    toLocal(redisMs) {
      if (bounds.length === 0) return undefined;
      return redisMs - Math.min(...bounds);
    },
  };
}
