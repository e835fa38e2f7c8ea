import type { MonotonicClock } from './clock.js';

/**
 * What this process knows about cool-downs: per key, the monotonic moment before which nothing may
 * be sent. Every source writes here — this process's own throttling answers (at once, before the
 * Redis write), news from other processes, the stored cool-down read by heartbeats and on
 * reconnect — and every request gate of the key reads it. A deadline only ever moves later.
 */
export interface CoolDownBoard {
  /**
   * The key must wait `waitMs` from now: its deadline becomes at least now + waitMs. Returns true
   * when that made it later (the key's listeners have been told, synchronously).
   */
  extend(member: string, waitMs: number): boolean;
  /** How long the key must still wait; 0 when it need not. */
  remainingMs(member: string): number;
  /** Calls `listener` each time the key's deadline moves later; returns the unsubscribe. */
  onExtended(member: string, listener: () => void): () => void;
}

export function createCoolDownBoard(clock: MonotonicClock): CoolDownBoard {
  const deadlines = new Map<string, number>();
  const listeners = new Map<string, Set<() => void>>();

  return {
    extend(member, waitMs) {
      if (!(waitMs > 0)) return false;
      const now = clock.now();
      const deadline = now + waitMs;
      const current = deadlines.get(member);
      if (current !== undefined && current >= deadline) return false;
      deadlines.set(member, deadline);
      // Forget past deadlines so the map does not grow with every key ever throttled.
      for (const [other, otherDeadline] of deadlines) if (otherDeadline <= now) deadlines.delete(other);
      for (const listener of [...(listeners.get(member) ?? [])]) listener();
      return true;
    },
    remainingMs(member) {
      const deadline = deadlines.get(member);
      return deadline === undefined ? 0 : Math.max(0, deadline - clock.now());
    },
    onExtended(member, listener) {
      let set = listeners.get(member);
      if (!set) {
        set = new Set();
        listeners.set(member, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(member);
      };
    },
  };
}
