import type { AccessToken } from '../core/index.js';

/**
 * Remembers access tokens per resource and says when one is still good to send. A token is
 * renewed once less than a quarter of its lifetime (at most five minutes) is left, so a page is
 * never sent with a token about to expire, yet short-lived tokens (a 60-second lifetime in tests)
 * are not renewed on every page the way msal's fixed five-minute margin would.
 */
export interface TokenMemo {
  /** The remembered token when it has enough life left. */
  fresh(resource: string): AccessToken | undefined;
  remember(resource: string, token: AccessToken, issuedAtMs: number): void;
  forget(): void;
}

export function createTokenMemo(options: { maxMarginMs?: number; now?: () => number } = {}): TokenMemo {
  const maxMarginMs = options.maxMarginMs ?? 300_000;
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { token: AccessToken; marginMs: number }>();
  return {
    fresh(resource) {
      const entry = tokens.get(resource);
      return entry && entry.token.expiresOnMs - now() > entry.marginMs ? entry.token : undefined;
    },
    remember(resource, token, issuedAtMs) {
      const lifetimeMs = Math.max(0, token.expiresOnMs - issuedAtMs);
      tokens.set(resource, { token, marginMs: Math.min(maxMarginMs, lifetimeMs / 4) });
    },
    forget() {
      tokens.clear();
    },
  };
}
