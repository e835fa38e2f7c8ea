import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/queue/embedded-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let redis: EmbeddedRedis | undefined;

/**
 * Tests never rely on a Redis that happens to run on the machine: REDIS_URL when set, otherwise a
 * private redis-server on a free port for this test run.
 */
export async function setup(project: TestProject): Promise<void> {
  const configured = process.env['REDIS_URL'];
  if (configured) {
    project.provide('redisUrl', configured);
    return;
  }
  redis = await startEmbeddedRedis();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
