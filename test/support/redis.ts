import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** The Redis URL for this test run (REDIS_URL or the private server from global setup). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix no other test uses, so tests never see each other's queues or leases. */
export function uniquePrefix(label = 'test'): string {
  return `exorun-${label}-${randomUUID().slice(0, 8)}`;
}
