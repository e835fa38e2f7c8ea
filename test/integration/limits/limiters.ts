import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createRedisTenantLimiter, type RedisLimiterOptions, type RedisTenantLimiter } from '../../../src/limits/redis-limiter.js';
import { testRedisUrl } from '../../support/redis.js';

/**
 * Limiter instances for one test file, each on its own connections as separate worker processes
 * would have them; every instance is closed after each test.
 */
export function useLimiters(): {
  redis: () => Redis;
  create: (options: Omit<RedisLimiterOptions, 'redis'> & { redis?: Redis }) => RedisTenantLimiter;
} {
  let redis: Redis | undefined;
  const open: { limiter: RedisTenantLimiter; connection: Redis | undefined }[] = [];
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await Promise.all(
      open.splice(0).map(async ({ limiter, connection }) => {
        await limiter.close();
        connection?.disconnect();
      }),
    );
  });
  afterAll(() => redis?.disconnect());
  return {
    redis: () => redis!,
    create(options) {
      // A connection per instance, as each process has its own.
      const connection = options.redis ? undefined : new Redis(testRedisUrl());
      const limiter = createRedisTenantLimiter({ ...options, redis: options.redis ?? connection! });
      open.push({ limiter, connection });
      return limiter;
    },
  };
}
