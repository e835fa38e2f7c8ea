import { describe, expect, it } from 'vitest';
import { fireTimesBetween } from '../../../src/scheduler/missed-runs.js';

describe('fireTimesBetween (missed-run watchdog)', () => {
  it('keeps the fire time of a DST spring-forward day, an hour later in local time (cron-parser prev() would skip it)', () => {
    const times = fireTimesBetween('0 30 2 * * *', 'Europe/Berlin', Date.parse('2026-03-27T12:00:00Z'), Date.parse('2026-03-30T12:00:00Z'));
    expect(times.map((ms) => new Date(ms).toISOString())).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('fires once, not twice, in the repeated hour of a DST fall-back day', () => {
    const times = fireTimesBetween('0 30 2 * * *', 'Europe/Berlin', Date.parse('2026-10-24T12:00:00Z'), Date.parse('2026-10-26T12:00:00Z'));
    expect(times.map((ms) => new Date(ms).toISOString())).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('excludes the start, includes the end, and keeps only the newest 50 of a dense schedule', () => {
    const from = Date.parse('2026-01-01T00:00:00Z');
    expect(fireTimesBetween('* * * * * *', 'UTC', from, from + 3_000)).toEqual([from + 1_000, from + 2_000, from + 3_000]);
    const dense = fireTimesBetween('* * * * * *', 'UTC', from, from + 600_000);
    expect(dense).toHaveLength(50);
    expect(dense.at(-1)).toBe(from + 600_000);
  });
});
