import type { Redis } from '../queue/index.js';

const ACQUIRE_OR_RENEW = `
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * One active reconciler at a time: a Redis key with an owner and a TTL. Scheduler replicas all
 * try; the holder renews it; when the holder dies, another takes over after the TTL.
 */
export interface LeaderLock {
  /** Acquires the lock or renews it if already held; true while this instance leads. */
  tryAcquire(): Promise<boolean>;
  release(): Promise<void>;
}

export function createLeaderLock(options: { redis: Redis; key: string; ownerId: string; ttlMs: number }): LeaderLock {
  return {
    async tryAcquire() {
      return (await options.redis.eval(ACQUIRE_OR_RENEW, 1, options.key, options.ownerId, String(options.ttlMs))) === 1;
    },
    async release() {
      await options.redis.eval(RELEASE, 1, options.key, options.ownerId);
    },
  };
}
