import { describe, expect, it } from 'vitest';
import { createRedisTimeMapping } from '../../../src/limits/clock.js';

describe('Redis time on the local monotonic clock', () => {
  it('knows nothing before a reply', () => {
    expect(createRedisTimeMapping().toLocal(1_000)).toBeUndefined();
  });

  it('errs early: the mapped moment is never after Redis reaches that time', () => {
    // True offset: Redis time = local + 1_000_000. Replies executed 1..40 ms after they were sent.
    const offset = 1_000_000;
    const mapping = createRedisTimeMapping();
    for (const [sentAt, delay] of [
      [100, 40],
      [200, 3],
      [300, 12],
    ] as const) {
      mapping.observe(sentAt, sentAt + delay + offset);
    }
    const redisExpiry = offset + 5_000;
    const local = mapping.toLocal(redisExpiry)!;
    expect(local).toBeLessThanOrEqual(redisExpiry - offset);
    // The tightest reply (3 ms) bounds the error.
    expect(redisExpiry - offset - local).toBe(3);
  });

  it('forgets old replies, so one that waited long does not make every mapping too early for ever', () => {
    const mapping = createRedisTimeMapping();
    mapping.observe(0, 5_000); // waited 5 s in a queue while Redis was away
    for (let at = 1; at <= 8; at += 1) mapping.observe(at * 100, at * 100 + 2);
    expect(mapping.toLocal(10_000)).toBe(9_998);
  });
});
