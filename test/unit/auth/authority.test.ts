import { describe, expect, it } from 'vitest';
import { knownAuthoritiesFor } from '../../../src/auth/authority.js';

describe('knownAuthoritiesFor', () => {
  it('leaves the sign-in hosts msal ships metadata for alone', () => {
    for (const host of [
      'https://login.microsoftonline.com',
      'https://login.microsoftonline.us',
      'https://login.chinacloudapi.cn',
      'https://LOGIN.microsoftonline.de',
    ]) {
      expect(knownAuthoritiesFor(host)).toEqual([]);
    }
  });

  it('declares any other sign-in host, with its port, so msal never runs instance discovery against the public cloud for it', () => {
    expect(knownAuthoritiesFor('https://login.contoso.example')).toEqual(['login.contoso.example']);
    expect(knownAuthoritiesFor('https://sim.localhost:8443')).toEqual(['sim.localhost:8443']);
    expect(knownAuthoritiesFor('https://127.0.0.1:4443')).toEqual(['127.0.0.1:4443']);
    // A known host on another port is not the host msal knows.
    expect(knownAuthoritiesFor('https://login.microsoftonline.com:8443')).toEqual(['login.microsoftonline.com:8443']);
  });
});
