import { describe, expect, it } from 'vitest';
import { claimsChallenge, claimsValue, createCaeStore } from '../src/admin-api/cae.js';
import { checkUpns, createUserDirectory, directoryUser } from '../src/directory.js';
import { DELEGATED_PERMISSIONS, parseDelegatedScope } from '../src/entra/delegated-scopes.js';
import { createDeviceCodeStore, type DeviceCodeEntry } from '../src/entra/device-codes.js';
import { createEntraStats } from '../src/entra/entra-stats.js';
import { createRefreshTokenStore, type RefreshGrant } from '../src/entra/refresh-tokens.js';
import { createServiceResources } from '../src/resources.js';

const EXO = 'https://outlook.office365.com';
const resources = createServiceResources(() => ({ exo: 'https://127.0.0.1:4431', ipps: 'https://127.0.0.1:4432' }));
const grant: RefreshGrant = { tenantId: 'tid', upn: 'admin@contoso.onmicrosoft.com', clientId: 'client', signInMs: 1_000 };
const redeem = (
  store: ReturnType<typeof createRefreshTokenStore>,
  token: string,
  nowMs: number,
  extra: Partial<{ clientId: string; tenantId: string; rotate: boolean }> = {},
) => store.redeem(token, { clientId: 'client', tenantId: 'tid', nowMs, rotate: true, ...extra });

describe('refresh token rotation rules', () => {
  it('rotates: every redemption returns a new token of the family', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family' });
    const first = store.startFamily(grant);
    const second = redeem(store, first, 2_000);
    expect(second).toMatchObject({ ok: true, reused: false, grant: { upn: grant.upn } });
    if (!second.ok || !second.next) throw new Error('expected a rotated token');
    expect(second.next).not.toBe(first);
    expect(second.next).toMatch(/^1\.AS[\w-]{100,}$/);
    const third = redeem(store, second.next, 3_000);
    expect(third.ok).toBe(true);
  });

  it("'revoke-family': presenting a redeemed token again revokes every token of the sign-in", () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family' });
    const first = store.startFamily(grant);
    const rotated = redeem(store, first, 2_000);
    if (!rotated.ok || !rotated.next) throw new Error('expected a rotated token');
    expect(redeem(store, first, 3_000)).toMatchObject({ ok: false, reason: 'reused' });
    expect(redeem(store, rotated.next, 3_000)).toMatchObject({ ok: false, reason: 'family-revoked' });
    // Another sign-in of the same user is not affected.
    const other = store.startFamily({ ...grant, signInMs: 4_000 });
    expect(redeem(store, other, 5_000).ok).toBe(true);
  });

  it("'allow': old tokens keep working, and the reuse is reported", () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'allow' });
    const first = store.startFamily(grant);
    expect(redeem(store, first, 2_000)).toMatchObject({ ok: true, reused: false });
    expect(redeem(store, first, 3_000)).toMatchObject({ ok: true, reused: true, next: expect.any(String) });
  });

  it('does not use a token up when no new one is issued (no offline_access)', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family' });
    const first = store.startFamily(grant);
    expect(redeem(store, first, 2_000, { rotate: false })).toMatchObject({ ok: true, next: undefined });
    expect(redeem(store, first, 2_500)).toMatchObject({ ok: true, reused: false });
  });

  it('checks ownership before anything else, so a stranger cannot revoke a family', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family' });
    const first = store.startFamily(grant);
    expect(redeem(store, first, 2_000, { clientId: 'other' })).toMatchObject({ ok: false, reason: 'wrong-client' });
    expect(redeem(store, first, 2_000, { tenantId: 'other' })).toMatchObject({ ok: false, reason: 'wrong-tenant' });
    expect(store.redeem(first, { clientId: 'CLIENT', tenantId: undefined, nowMs: 2_000, rotate: true }).ok).toBe(true);
    expect(redeem(store, 'garbage', 2_000)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('expires each token lifetimeSec after it was issued (rotation starts the clock anew)', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 10, reuse: 'revoke-family' });
    const first = store.startFamily(grant);
    const rotated = redeem(store, first, 10_999);
    if (!rotated.ok || !rotated.next) throw new Error('expected a rotated token');
    expect(redeem(store, rotated.next, 20_998).ok).toBe(true);
    const late = store.startFamily({ ...grant, signInMs: 30_000 });
    expect(redeem(store, late, 40_000)).toMatchObject({ ok: false, reason: 'expired', issuedAtMs: 30_000 });
  });

  it('revokes a user: sign-ins before the moment fail, later ones work', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family' });
    const before = store.startFamily(grant);
    const otherUser = store.startFamily({ ...grant, upn: 'jane@contoso.onmicrosoft.com' });
    expect(store.revokeUser('tid', 'ADMIN@contoso.onmicrosoft.com', 5_000)).toBe(1);
    expect(redeem(store, before, 6_000)).toMatchObject({ ok: false, reason: 'user-revoked', validFromMs: 5_000 });
    expect(redeem(store, otherUser, 6_000).ok).toBe(true);
    const after = store.startFamily({ ...grant, signInMs: 7_000 });
    expect(redeem(store, after, 8_000).ok).toBe(true);
  });

  it('forgets the oldest tokens past its bound', () => {
    const store = createRefreshTokenStore({ lifetimeSec: 60, reuse: 'revoke-family', maxTokens: 2 });
    const tokens = [store.startFamily(grant), store.startFamily(grant), store.startFamily(grant)];
    expect(redeem(store, tokens[0]!, 2_000)).toMatchObject({ reason: 'unknown' });
    expect(redeem(store, tokens[2]!, 2_000).ok).toBe(true);
  });
});

describe('device code state machine', () => {
  const request = { tenantId: 'tid', tenantSegment: 'contoso.onmicrosoft.com', clientId: 'client', scope: `${EXO}/.default offline_access` };
  const approval = { tenantId: 'tid', upn: 'admin@contoso.onmicrosoft.com' };

  it('pending → approved → redeemed once', () => {
    const approved: DeviceCodeEntry[] = [];
    const store = createDeviceCodeStore({ lifetimeSec: 900, autoApproveAs: () => undefined, onApproved: (entry) => approved.push(entry) });
    const entry = store.issue(request, 0);
    expect(entry.userCode).toMatch(/^[A-HJKMNP-Z2-9]{9}$/);
    expect(store.poll(entry.deviceCode, 1_000)).toMatchObject({ state: 'pending' });
    expect(store.pending(1_000).map((code) => code.userCode)).toEqual([entry.userCode]);
    expect(store.approve(`${entry.userCode.slice(0, 4)}-${entry.userCode.slice(4).toLowerCase()}`, approval, 2_000)).toBe(true);
    expect(store.approve(entry.userCode, approval, 2_000)).toBe(false);
    expect(approved).toHaveLength(1);
    expect(store.pending(2_000)).toEqual([]);
    expect(store.poll(entry.deviceCode, 3_000)).toMatchObject({ state: 'approved', approval });
    expect(store.poll(entry.deviceCode, 4_000)).toMatchObject({ state: 'redeemed' });
    expect(store.poll('nope', 4_000)).toEqual({ state: 'unknown' });
  });

  it('declines and expires (also an approved code that was never redeemed)', () => {
    const store = createDeviceCodeStore({ lifetimeSec: 10, autoApproveAs: () => undefined });
    const declined = store.issue(request, 0);
    expect(store.decline(declined.userCode, 1_000)).toBe(true);
    expect(store.decline(declined.userCode, 1_000)).toBe(false);
    expect(store.poll(declined.deviceCode, 2_000)).toMatchObject({ state: 'declined' });
    const idle = store.issue(request, 0);
    expect(store.poll(idle.deviceCode, 10_000)).toMatchObject({ state: 'expired' });
    expect(store.approve(idle.userCode, approval, 10_000)).toBe(false);
    const late = store.issue(request, 0);
    expect(store.approve(late.userCode, approval, 9_000)).toBe(true);
    expect(store.poll(late.deviceCode, 10_001)).toMatchObject({ state: 'expired' });
  });

  it('approves automatically after autoApproveMs, when a default user exists', () => {
    const store = createDeviceCodeStore({
      lifetimeSec: 900,
      autoApproveMs: 5_000,
      autoApproveAs: (entry) => (entry.tenantId === undefined ? undefined : approval),
    });
    const entry = store.issue(request, 0);
    expect(store.poll(entry.deviceCode, 4_999)).toMatchObject({ state: 'pending' });
    expect(store.poll(entry.deviceCode, 5_000)).toMatchObject({ state: 'approved', approval });
    const multiTenant = store.issue({ ...request, tenantId: undefined, tenantSegment: 'organizations' }, 0);
    expect(store.poll(multiTenant.deviceCode, 6_000)).toMatchObject({ state: 'pending' });
  });
});

describe('delegated scopes', () => {
  it('takes one resource with .default and the OIDC scopes msal adds', () => {
    expect(parseDelegatedScope(`${EXO}/.default openid profile offline_access`, 't', resources)).toEqual({
      resource: EXO,
      scp: DELEGATED_PERMISSIONS.join(' '),
      echo: `${EXO}/.default openid profile offline_access`,
      openid: true,
      offlineAccess: true,
    });
    expect(parseDelegatedScope('https://ps.compliance.protection.outlook.com/AdminApi.AccessAsUser.All', 't', resources)).toMatchObject({
      scp: 'AdminApi.AccessAsUser.All',
      openid: false,
      offlineAccess: false,
    });
    expect(DELEGATED_PERMISSIONS).toContain('AdminApi.AccessAsUser.All');
  });

  it("takes the simulator's own EXO or IPPS origin as the resource, as a client addressing it would ask", () => {
    expect(parseDelegatedScope('https://127.0.0.1:4431/.default offline_access', 't', resources)).toMatchObject({
      resource: 'https://127.0.0.1:4431',
      offlineAccess: true,
    });
    expect(parseDelegatedScope('https://127.0.0.1:4432/AdminApi.AccessAsUser.All', 't', resources)).toMatchObject({
      resource: 'https://127.0.0.1:4432',
      scp: 'AdminApi.AccessAsUser.All',
    });
  });

  it('refuses other resources, two resources, unknown permissions and no resource', () => {
    expect(parseDelegatedScope('https://graph.microsoft.com/.default', 't', resources)).toMatchObject({ error: 'invalid_resource', code: 500011 });
    expect(parseDelegatedScope('https://127.0.0.1:4433/.default', 't', resources)).toMatchObject({ error: 'invalid_resource', code: 500011 });
    expect(parseDelegatedScope(`${EXO}/.default https://ps.compliance.protection.outlook.com/.default`, 't', resources)).toMatchObject({ code: 28000 });
    expect(parseDelegatedScope(`${EXO}/Mail.Read`, 't', resources)).toMatchObject({ code: 70011 });
    expect(parseDelegatedScope('openid profile', 't', resources)).toMatchObject({ code: 70011 });
  });
});

describe('users', () => {
  it('derives oids from organization and UPN, and always has the admin', () => {
    const directory = createUserDirectory('Contoso.onmicrosoft.com');
    expect(directory.admin).toEqual(directoryUser('contoso.onmicrosoft.com', 'admin@contoso.onmicrosoft.com'));
    expect(directory.admin.displayName).toBe('Simulated Admin');
    directory.add(checkUpns(['Jane.Doe@CONTOSO.onmicrosoft.com'], 'contoso.onmicrosoft.com'));
    expect(directory.find('jane.doe@contoso.onmicrosoft.com')).toMatchObject({ displayName: 'Jane Doe', oid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(directoryUser('fabrikam.onmicrosoft.com', 'jane.doe@contoso.onmicrosoft.com').oid).not.toBe(directory.find('jane.doe@contoso.onmicrosoft.com')?.oid);
    expect(directory.all().map((user) => user.upn)).toEqual(['admin@contoso.onmicrosoft.com', 'jane.doe@contoso.onmicrosoft.com']);
  });

  it('accepts only UPNs at the organization', () => {
    expect(() => checkUpns(['jane@fabrikam.com'], 'contoso.onmicrosoft.com')).toThrow(/must be a UPN at contoso\.onmicrosoft\.com/);
    expect(() => checkUpns(['no-at-sign'], 'contoso.onmicrosoft.com')).toThrow();
    expect(() => checkUpns('jane@contoso.onmicrosoft.com', 'contoso.onmicrosoft.com')).toThrow(/array/);
  });
});

describe('CAE', () => {
  it('keeps the latest moment per tenant and per user', () => {
    const cae = createCaeStore();
    expect(cae.momentFor('tid', undefined)).toBeUndefined();
    cae.require('tid', 'Ops@contoso.onmicrosoft.com', 2_000);
    expect(cae.momentFor('tid', 'ops@contoso.onmicrosoft.com')).toBe(2_000);
    expect(cae.momentFor('tid', 'admin@contoso.onmicrosoft.com')).toBeUndefined();
    expect(cae.momentFor('tid', undefined)).toBeUndefined();
    cae.require('tid', undefined, 1_000);
    expect(cae.momentFor('tid', 'admin@contoso.onmicrosoft.com')).toBe(1_000);
    expect(cae.momentFor('tid', 'ops@contoso.onmicrosoft.com')).toBe(2_000);
  });

  it('writes the claims challenge the module parses', () => {
    const value = claimsValue(1_767_225_600_500);
    expect(JSON.parse(Buffer.from(value, 'base64').toString())).toEqual({ access_token: { nbf: { essential: true, value: '1767225600' } } });
    expect(claimsChallenge('00000007-0000-0ff1-ce00-000000000000', 'https://login.example', 1_767_225_600_500)).toBe(
      `Bearer realm="", authorization_uri="https://login.example/common/oauth2/authorize", client_id="00000007-0000-0ff1-ce00-000000000000", error="insufficient_claims", claims="${value}"`,
    );
  });
});

describe('token endpoint counters', () => {
  it('count per tenant and sum without one', () => {
    const stats = createEntraStats();
    stats.count('a', 'rotations');
    stats.count('a', 'rotations');
    stats.count('b', 'rotations');
    stats.count(undefined, 'deviceCodesIssued');
    expect(stats.get('a').rotations).toBe(2);
    expect(stats.get()).toMatchObject({ rotations: 3, deviceCodesIssued: 1 });
    stats.reset();
    expect(stats.get().rotations).toBe(0);
  });
});
