import { createRandom, hash32, hashString, type Random } from '../data/prng.js';
import type { SimulatorFaults } from '../types.js';

export type FaultDecision = 'throttle' | 'unavailable' | 'refuse' | undefined;

export interface FaultInjector {
  /** Decides, deterministically per key for a given seed, whether this request fails. */
  decide(key: string, faults: SimulatorFaults): FaultDecision;
  /** Restarts every key's sequence (after settings change). */
  reset(): void;
}

export function createFaultInjector(): FaultInjector {
  const streams = new Map<string, Random>();
  return {
    decide(key, faults) {
      const throttleRate = faults.throttleRate ?? 0;
      const unavailableRate = faults.unavailableRate ?? 0;
      const refusalRate = faults.concurrencyRefusalRate ?? 0;
      if (throttleRate <= 0 && unavailableRate <= 0 && refusalRate <= 0) return undefined;
      let random = streams.get(key);
      if (!random) {
        random = createRandom(hash32(faults.seed ?? 0, hashString(key)));
        streams.set(key, random);
      }
      const roll = random.next();
      if (roll < throttleRate) return 'throttle';
      if (roll < throttleRate + unavailableRate) return 'unavailable';
      if (roll < throttleRate + unavailableRate + refusalRate) return 'refuse';
      return undefined;
    },
    reset() {
      streams.clear();
    },
  };
}

/** The Retry-After header value and the instant it points at. */
export function retryAfter(faults: SimulatorFaults, nowMs: number): { value: string; untilMs: number } {
  const seconds = faults.retryAfterSec ?? 1;
  if (faults.retryAfterFormat === 'http-date') {
    // HTTP dates have whole seconds; round up so a client never retries early by obeying it.
    const untilMs = Math.ceil((nowMs + seconds * 1000) / 1000) * 1000;
    return { value: new Date(untilMs).toUTCString(), untilMs };
  }
  // String(0.5) is "0.5": fractional delays stay fractional, as the module parses a double.
  return { value: String(seconds), untilMs: nowMs + seconds * 1000 };
}
