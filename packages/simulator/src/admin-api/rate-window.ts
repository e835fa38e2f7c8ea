/** The Rate-Limit-* figures the service reports; informational only, never enforced here. */
export const RATE_LIMIT = 30_000;
const WINDOW_MS = 60_000;

export function createRateWindow(now: () => number): { hit(key: string): { remaining: number; resetMs: number } } {
  const windows = new Map<string, { startMs: number; count: number }>();
  return {
    hit(key) {
      const at = now();
      let window = windows.get(key);
      if (!window || at >= window.startMs + WINDOW_MS) {
        window = { startMs: at, count: 0 };
        windows.set(key, window);
      }
      window.count++;
      return { remaining: Math.max(0, RATE_LIMIT - window.count), resetMs: window.startMs + WINDOW_MS };
    },
  };
}
