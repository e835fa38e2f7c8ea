import { hash32 } from './prng.js';

/** Audit records start here (fixed, so every run and every test agree on record i). */
export const AUDIT_EPOCH_MS = Date.UTC(2026, 0, 1);
export const DEFAULT_AUDIT_RECORDS_PER_HOUR = 20;
/** One record per second at most: record instants are whole seconds, like CreationDate. */
export const MAX_AUDIT_RECORDS_PER_HOUR = 3600;

const HOUR_SEC = 3600;
const HOUR_MS = 3_600_000;
const STREAM_TIME = 71;

/**
 * When audit record i happened. Each hour holds exactly `perHour` records; hour h is cut into
 * `perHour` equal slots and record h·perHour+k sits at a seeded whole second inside slot k. So
 * instants strictly increase with i (a window is an index range, found by arithmetic plus a
 * binary search inside one hour) and nothing is stored.
 */
export interface AuditTimeline {
  readonly perHour: number;
  /** Epoch ms of record `index`. */
  timeOf(index: number): number;
  /** The first index whose instant is at or after `ms` (records before it are all earlier). */
  firstAtOrAfter(ms: number): number;
}

export function createAuditTimeline(salt: number, perHour: number): AuditTimeline {
  function timeOf(index: number): number {
    const hour = Math.floor(index / perHour);
    const slot = index - hour * perHour;
    const slotStart = Math.floor((slot * HOUR_SEC) / perHour);
    const slotEnd = Math.floor(((slot + 1) * HOUR_SEC) / perHour);
    const second = slotStart + (hash32(salt, STREAM_TIME, index) % Math.max(1, slotEnd - slotStart));
    return AUDIT_EPOCH_MS + hour * HOUR_MS + second * 1000;
  }

  function firstAtOrAfter(ms: number): number {
    if (perHour === 0 || ms <= AUDIT_EPOCH_MS) return 0;
    const hour = Math.floor((ms - AUDIT_EPOCH_MS) / HOUR_MS);
    let low = hour * perHour;
    let high = low + perHour;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (timeOf(middle) >= ms) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  return { perHour, timeOf, firstAtOrAfter };
}
