import { randomBytes } from 'node:crypto';
import type { RefreshTokenReuse } from '../types.js';

/** Who a refresh token signs in, fixed at sign-in and inherited by every rotated token. */
export interface RefreshGrant {
  tenantId: string;
  upn: string;
  clientId: string;
  /** When the user signed in (the device code was redeemed): revocation compares against it. */
  signInMs: number;
}

/** Why a refresh token was refused. */
export type RefreshRefusal =
  /** Not a token this simulator issued (or evicted long ago). */
  | 'unknown'
  /** Issued to another client id. */
  | 'wrong-client'
  /** Issued in another tenant than the one the request names. */
  | 'wrong-tenant'
  /** The user's sessions were revoked after this sign-in. */
  | 'user-revoked'
  /** Its family was revoked earlier (reuse was detected). */
  | 'family-revoked'
  | 'expired'
  /** Already redeemed, and strict mode revoked its family just now. */
  | 'reused';

export type RedeemResult =
  | { ok: true; grant: RefreshGrant; issuedAtMs: number; reused: boolean; next: string | undefined }
  | { ok: false; reason: RefreshRefusal; grant?: RefreshGrant; issuedAtMs?: number; validFromMs?: number };

export interface RefreshTokenStore {
  /** A sign-in: starts a new family and returns its first refresh token. */
  startFamily(grant: RefreshGrant): string;
  /**
   * Redeems `token` for `clientId` (in `tenantId`, when the request names one). `rotate` issues the
   * next token of the family and marks this one redeemed; without it (no offline_access) the token
   * stays as it was.
   */
  redeem(token: string, request: { clientId: string; tenantId: string | undefined; nowMs: number; rotate: boolean }): RedeemResult;
  /** Revokes every family of the user signed in before `nowMs`; returns how many live families that hit. */
  revokeUser(tenantId: string, upn: string, nowMs: number): number;
}

interface Family {
  grant: RefreshGrant;
  revoked: boolean;
}

interface TokenEntry {
  family: Family;
  issuedAtMs: number;
  redeemed: boolean;
}

/**
 * Refresh tokens with rotation. Every redemption issues a new token of the same family; the rules
 * for presenting a token again are {@link RefreshTokenReuse}. Tokens are opaque random strings
 * (like Entra's encrypted ones). Memory is bounded: past `maxTokens` the oldest are forgotten and
 * then count as unknown.
 */
export function createRefreshTokenStore(options: { lifetimeSec: number; reuse: RefreshTokenReuse; maxTokens?: number }): RefreshTokenStore {
  const maxTokens = options.maxTokens ?? 200_000;
  const tokens = new Map<string, TokenEntry>();
  const validFrom = new Map<string, number>();
  const families = new Set<Family>();
  const userKey = (tenantId: string, upn: string): string => `${tenantId}|${upn.toLowerCase()}`;

  function issue(family: Family, nowMs: number): string {
    while (tokens.size >= maxTokens) {
      const oldest = tokens.keys().next();
      if (oldest.done) break;
      tokens.delete(oldest.value);
    }
    const token = `1.AS${randomBytes(96).toString('base64url')}`;
    tokens.set(token, { family, issuedAtMs: nowMs, redeemed: false });
    return token;
  }

  return {
    startFamily(grant) {
      const family: Family = { grant: { ...grant, upn: grant.upn.toLowerCase() }, revoked: false };
      families.add(family);
      // Families are only walked by revokeUser; forget the oldest beyond the token bound.
      if (families.size > maxTokens) families.delete(families.values().next().value as Family);
      return issue(family, grant.signInMs);
    },
    redeem(token, request) {
      const entry = tokens.get(token);
      if (!entry) return { ok: false, reason: 'unknown' };
      const { family, issuedAtMs } = entry;
      const grant = family.grant;
      const refuse = (reason: RefreshRefusal, extra: { validFromMs?: number } = {}): RedeemResult => ({ ok: false, reason, grant, issuedAtMs, ...extra });
      // Ownership first: a stranger presenting someone's token must not revoke their family.
      if (grant.clientId !== request.clientId.toLowerCase()) return refuse('wrong-client');
      if (request.tenantId !== undefined && grant.tenantId !== request.tenantId) return refuse('wrong-tenant');
      const revokedAt = validFrom.get(userKey(grant.tenantId, grant.upn));
      if (revokedAt !== undefined && grant.signInMs < revokedAt) return refuse('user-revoked', { validFromMs: revokedAt });
      if (family.revoked) return refuse('family-revoked');
      if (request.nowMs >= issuedAtMs + options.lifetimeSec * 1000) return refuse('expired');
      const reused = entry.redeemed;
      if (reused && options.reuse === 'revoke-family') {
        family.revoked = true;
        return refuse('reused');
      }
      if (!request.rotate) return { ok: true, grant, issuedAtMs, reused, next: undefined };
      entry.redeemed = true;
      return { ok: true, grant, issuedAtMs, reused, next: issue(family, request.nowMs) };
    },
    revokeUser(tenantId, upn, nowMs) {
      const key = userKey(tenantId, upn);
      validFrom.set(key, nowMs);
      let hit = 0;
      for (const family of families) {
        if (userKey(family.grant.tenantId, family.grant.upn) !== key || family.grant.signInMs >= nowMs) continue;
        if (!family.revoked) hit++;
        family.revoked = true;
      }
      return hit;
    },
  };
}
