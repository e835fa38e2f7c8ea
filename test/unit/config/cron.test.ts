import { describe, expect, it } from 'vitest';
import { checkCronExpression, nextFireTimes, shiftedFireTime } from '../../../src/config/cron.js';
import { clockGaps } from '../../../src/core/time.js';

const from = Date.parse('2026-11-22T00:00:00Z');
const iso = (times: number[]): string[] => times.map((ms) => new Date(ms).toISOString());

describe('nextFireTimes', () => {
  it('never throws: a schedule that never fires, or no schedule at all, has no fire times', () => {
    expect(nextFireTimes('0 0 31 2,4 *', 'UTC', 3, from)).toEqual([]);
    expect(nextFireTimes('not a schedule', 'UTC', 3, from)).toEqual([]);
    expect(nextFireTimes('0 2 * * *', 'Not/AZone', 3, from)).toEqual([]);
  });

  it('finds rare fire times within its horizon and stops at the horizon', () => {
    // The fifth Monday of February: only in leap years whose February starts on a Monday.
    expect(iso(nextFireTimes('0 0 * 2 MON#5', 'UTC', 2, from))).toEqual(['2044-02-29T00:00:00.000Z', '2072-02-29T00:00:00.000Z']);
    expect(nextFireTimes('0 0 * 2 MON#5', 'UTC', 2, from, 10 * 366 * 86_400_000)).toEqual([]);
    expect(iso(nextFireTimes('0 0 29 2 *', 'UTC', 1, from))).toEqual(['2028-02-29T00:00:00.000Z']);
  });
});

describe('checkCronExpression', () => {
  it('gives the same answer from its memo as the first time', () => {
    expect(checkCronExpression('0 0 31 4,6,9,11 *')).toBe('never fires: April, June, September and November have no day 31');
    expect(checkCronExpression('0 0 31 4,6,9,11 *')).toBe('never fires: April, June, September and November have no day 31');
    expect(checkCronExpression('0 0 31 4,6,9,12 *')).toBeUndefined();
  });
});

describe('fire times in a skipped hour', () => {
  it('finds each zone’s clock-forward change, including one at midnight', () => {
    expect(clockGaps('Europe/Berlin', from)).toEqual([{ atMs: Date.parse('2027-03-28T01:00:00Z'), localDate: '2027-03-28', startMinute: 120, endMinute: 180 }]);
    expect(clockGaps('America/Havana', from).map((gap) => [gap.localDate, gap.startMinute, gap.endMinute])).toEqual([['2027-03-14', 0, 60]]);
    expect(clockGaps('Asia/Tokyo', from)).toEqual([]);
  });

  it('says when and to what cron-parser shifts a fire time the clocks skip', () => {
    expect(shiftedFireTime('0 30 2 * * *', 'Europe/Berlin', from)).toEqual({
      localDate: '2027-03-28',
      scheduled: '02:30',
      firesAt: '03:30',
      gap: '02:00–03:00',
    });
    expect(shiftedFireTime('30 0 * * *', 'America/Havana', from)).toEqual({
      localDate: '2027-03-14',
      scheduled: '00:30',
      firesAt: '01:30',
      gap: '00:00–01:00',
    });
    expect(shiftedFireTime('30 3 * * *', 'Europe/Berlin', from)).toBeUndefined();
    expect(shiftedFireTime('30 2 * * *', 'UTC', from)).toBeUndefined();
    // The change is on a Sunday; a Saturday-only schedule never meets it.
    expect(shiftedFireTime('30 2 * * SAT', 'Europe/Berlin', from)).toBeUndefined();
  });
});
