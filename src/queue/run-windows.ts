import type { Redis } from 'ioredis';

/**
 * Where each job remembers, per tenant, the end of the window its last successful run read
 * (`${window.end}`), so the next run starts exactly there. In Redis, next to the queues, so every
 * worker on every machine continues the same sequence.
 */
export interface RunWindowStore {
  /** End (ms) of the last successful run's window; undefined before the first success. */
  lastEnd(job: string, tenant: string): Promise<number | undefined>;
  /**
   * Moves the stored end from `fromMs` (undefined: nothing stored yet) to `toMs`. Resolves false,
   * changing nothing, when another run moved it meanwhile: two runs read overlapping windows
   * (`overlap: allow`), and only the first to finish may continue the sequence.
   */
  advance(job: string, tenant: string, fromMs: number | undefined, toMs: number): Promise<boolean>;
}

const ADVANCE = `
local current = redis.call('GET', KEYS[1])
if (ARGV[1] == '' and not current) or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

export function createRunWindowStore(options: { redis: Redis; prefix: string }): RunWindowStore {
  const keyOf = (job: string, tenant: string): string => `${options.prefix}:window:{${job}|${tenant}}`;
  return {
    async lastEnd(job, tenant) {
      const value = await options.redis.get(keyOf(job, tenant));
      return value === null ? undefined : Number(value);
    },
    async advance(job, tenant, fromMs, toMs) {
      const result = await options.redis.eval(ADVANCE, 1, keyOf(job, tenant), fromMs === undefined ? '' : String(fromMs), String(toMs));
      return result === 1;
    },
  };
}
