/** Where a Search-UnifiedAuditLog session (`-SessionId`) stands. */
export interface AuditSession {
  /** The query the session was started with; another query under the same id starts over. */
  queryKey: string;
  /** Source position the next call starts scanning at. */
  next: number;
  /** Results handed out so far (the session stops at its cap). */
  returned: number;
  /** Source range of the latest call, so its nextLink pages return exactly that call's results. */
  last: { start: number; end: number };
}

export interface AuditSessionStore {
  get(key: string): AuditSession | undefined;
  set(key: string, session: AuditSession): void;
}

/**
 * Sessions live `ttlMs` after their last use (the service's lifetime is UNCONFIRMED; the paging
 * cursors' 30 minutes are used) and the oldest are evicted past `maxEntries`, so memory stays flat.
 */
export function createAuditSessionStore(options: { ttlMs: number; maxEntries?: number; now?: () => number }): AuditSessionStore {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { session: AuditSession; expiresAtMs: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.session;
    },
    set(key, session) {
      entries.delete(key);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      entries.set(key, { session, expiresAtMs: now() + options.ttlMs });
    },
  };
}
