import { createRandom, hash32, hashString, type Random } from '../data/prng.js';
import type { SimulatorFaults } from '../types.js';

export type FaultKind = 'throttle' | 'unavailable' | 'refuse' | 'server-error' | 'gateway-error';

/** An injected failure; `occurrence` counts this kind for the key from 0, to vary bodies in turn. */
export interface Fault {
  kind: FaultKind;
  occurrence: number;
}

export interface FaultInjector {
  /** Decides, deterministically per key for a given seed, whether this request fails and how. */
  decide(key: string, faults: SimulatorFaults): Fault | undefined;
  /** Restarts every key's sequence (after settings change). */
  reset(): void;
}

export function createFaultInjector(): FaultInjector {
  const streams = new Map<string, Random>();
  const occurrences = new Map<string, number>();
  return {
    decide(key, faults) {
      const rates: [FaultKind, number][] = [
        ['throttle', faults.throttleRate ?? 0],
        ['unavailable', faults.unavailableRate ?? 0],
        ['refuse', faults.concurrencyRefusalRate ?? 0],
        ['server-error', faults.serverErrorRate ?? 0],
        ['gateway-error', faults.gatewayErrorRate ?? 0],
      ];
      if (rates.every(([, rate]) => rate <= 0)) return undefined;
      let random = streams.get(key);
      if (!random) {
        random = createRandom(hash32(faults.seed ?? 0, hashString(key)));
        streams.set(key, random);
      }
      // One roll per request against the rates stacked in a fixed order, so adding a kind with
      // rate 0 leaves the sequences of the others as they were.
      const roll = random.next();
      let threshold = 0;
      for (const [kind, rate] of rates) {
        threshold += rate;
        if (roll < threshold) {
          const counter = `${key}|${kind}`;
          const occurrence = occurrences.get(counter) ?? 0;
          occurrences.set(counter, occurrence + 1);
          return { kind, occurrence };
        }
      }
      return undefined;
    },
    reset() {
      streams.clear();
      occurrences.clear();
    },
  };
}

/** The Retry-After header value and the instant it points at. */
export function retryAfter(faults: SimulatorFaults, nowMs: number, sequence = 0): { value: string; untilMs: number } {
  const seconds = faults.retryAfterSec ?? 1;
  const format = faults.retryAfterFormat === 'mixed' ? MIXED_FORMATS[sequence % MIXED_FORMATS.length] : (faults.retryAfterFormat ?? 'seconds');
  if (format === 'http-date') {
    // HTTP dates have whole seconds; round up so a client never retries early by obeying it.
    const untilMs = Math.ceil((nowMs + seconds * 1000) / 1000) * 1000;
    return { value: new Date(untilMs).toUTCString(), untilMs };
  }
  if (format === 'fractional') {
    // The module parses Retry-After as a double: a quarter second more, written as a fraction.
    const fractional = Math.floor(seconds) + 0.25;
    return { value: String(fractional), untilMs: nowMs + fractional * 1000 };
  }
  // String(0.5) is "0.5": fractional delays stay fractional, as the module parses a double.
  return { value: String(seconds), untilMs: nowMs + seconds * 1000 };
}

/** `retryAfterFormat: 'mixed'` takes these in turn: whole seconds, fractional seconds, an HTTP date. */
const MIXED_FORMATS = ['seconds', 'fractional', 'http-date'] as const;
