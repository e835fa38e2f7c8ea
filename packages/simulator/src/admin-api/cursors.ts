import { randomBytes } from 'node:crypto';
import type { ServiceName } from '../types.js';

/** Server-side state behind one `$skiptoken`. */
export interface CursorState {
  tenantId: string;
  service: ServiceName;
  /** sha256 of the exact request body: the next page must be requested with the same body. */
  bodyHash: string;
  /** Source position the next page starts at. */
  position: number;
  /** Objects returned so far (ResultSize counts across pages). */
  emitted: number;
  /** Page number the cursor leads to (2 for the first nextLink). */
  page: number;
}

export interface CursorStore {
  create(state: CursorState): string;
  /**
   * The cursor if it exists, has not expired and belongs to this tenant, service and body. Reading
   * does not use it up: the service lets a client re-post a nextLink (after a failed or a lost
   * answer) until the cursor expires, and gets the same page again.
   */
  use(token: string, expected: Pick<CursorState, 'tenantId' | 'service' | 'bodyHash'>): CursorState | undefined;
  readonly size: number;
}

interface Entry {
  state: CursorState;
  expiresAtMs: number;
}

/**
 * Opaque cursors that expire `ttlMs` after they were handed out, however often they are read.
 * Memory stays bounded: expired ones are swept lazily, and the oldest are evicted past `maxEntries`.
 */
export function createCursorStore(options: { ttlMs: number; maxEntries?: number; now?: () => number }): CursorStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let createsSinceSweep = 0;

  function sweep(): void {
    const at = now();
    for (const [token, entry] of entries) if (entry.expiresAtMs <= at) entries.delete(token);
  }

  return {
    create(state) {
      if (++createsSinceSweep >= 512) {
        createsSinceSweep = 0;
        sweep();
      }
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      const token = randomBytes(24).toString('base64url');
      entries.set(token, { state, expiresAtMs: now() + options.ttlMs });
      return token;
    },
    use(token, expected) {
      const entry = entries.get(token);
      if (!entry) return undefined;
      const at = now();
      if (entry.expiresAtMs <= at) {
        entries.delete(token);
        return undefined;
      }
      const { state } = entry;
      if (state.tenantId !== expected.tenantId || state.service !== expected.service || state.bodyHash !== expected.bodyHash) {
        return undefined;
      }
      return state;
    },
    get size() {
      return entries.size;
    },
  };
}
