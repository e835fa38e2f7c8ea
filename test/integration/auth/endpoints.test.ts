import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEndpoints, resolveTenantId } from '../../../src/auth/endpoints.js';
import type { HttpTransport } from '../../../src/core/ports.js';
import { createHttpTransport } from '../../../src/exchange/http-transport.js';
import { isTrustedUrl } from '../../../src/exchange/trusted-hosts.js';
import { startSimulator, type Simulator } from '@exorun/simulator';

let simulator: Simulator;
let transport: HttpTransport;

beforeAll(async () => {
  simulator = await startSimulator();
  transport = createHttpTransport({ extraCaPem: [simulator.caCertPem] });
});
afterAll(async () => {
  await transport.close();
  await simulator.close();
});

describe('tenant id and endpoints', () => {
  it('makes the token audience follow an address outside Microsoft’s clouds, unless a resource is given', () => {
    const custom = resolveEndpoints('commercial', {
      exoUrl: 'https://exo.contoso.example:8443/powershell-liveid/',
      ippsUrl: 'https://ipps.contoso.example:9443/powershell-liveid/',
      authorityHost: 'https://login.contoso.example:7443',
    });
    expect(custom.exo).toEqual({
      baseUrl: 'https://exo.contoso.example:8443',
      resource: 'https://exo.contoso.example:8443',
      trustedHosts: ['exo.contoso.example:8443'],
    });
    expect(custom.ipps).toEqual({
      baseUrl: 'https://ipps.contoso.example:9443',
      resource: 'https://ipps.contoso.example:9443',
      trustedHosts: ['ipps.contoso.example:9443', '*.ipps.contoso.example:9443'],
    });
    // The IPPS redirect to a regional sub-domain behind the overridden host keeps working.
    expect(isTrustedUrl('https://nam12b.ipps.contoso.example:9443/adminapi/beta/t/InvokeCommand', custom.ipps.trustedHosts)).toBe(true);
    expect(custom.authorityHost).toBe('https://login.contoso.example:7443');
    const proxied = resolveEndpoints('commercial', { exoUrl: 'https://proxy.contoso.example', exoResource: 'https://outlook.office365.com/' });
    expect(proxied.exo.resource).toBe('https://outlook.office365.com');
    expect(resolveEndpoints('commercial', { ippsResource: 'https://ps.compliance.protection.outlook.com' }).ipps.baseUrl).toBe(
      'https://ps.compliance.protection.outlook.com',
    );
  });

  it('reads the tenant GUID from the authority’s OpenID configuration for a domain', async () => {
    const tenant = await simulator.provisionTenant({ organization: 'lookup.onmicrosoft.com', mailboxCount: 1 });
    expect(await resolveTenantId(simulator.urls.login, 'lookup.onmicrosoft.com', transport)).toBe(tenant.tenantId);
    await expect(resolveTenantId(simulator.urls.login, 'unknown.onmicrosoft.com', transport)).rejects.toMatchObject({ code: 'AUTH_TENANT_NOT_FOUND' });
  });

  it('applies -ConnectionUri and -AzureADAuthorizationEndpointUri overrides and trusts only the overridden hosts', () => {
    const endpoints = resolveEndpoints('germany', {
      exoUrl: 'https://outlook.office.de',
      ippsUrl: 'https://ps.compliance.protection.outlook.de',
      authorityHost: 'https://login.microsoftonline.de',
    });
    expect(endpoints.authorityHost).toBe('https://login.microsoftonline.de');
    expect(endpoints.exo).toMatchObject({ baseUrl: 'https://outlook.office.de', resource: 'https://outlook.office.de' });
    expect(isTrustedUrl('https://eur03.ps.compliance.protection.outlook.de/x', endpoints.ipps.trustedHosts)).toBe(true);
    const moved = resolveEndpoints('commercial', { exoUrl: 'https://outlook.office.com/PowerShell-LiveID' });
    expect(moved.exo.baseUrl).toBe('https://outlook.office.com');
    expect(isTrustedUrl('https://outlook.office365.com/x', moved.exo.trustedHosts)).toBe(false);
    expect(resolveEndpoints('gcc')).toMatchObject({ cloud: 'gcc', exo: { baseUrl: 'https://outlook.office365.com' } });
    expect(moved.exo.resource).toBe('https://outlook.office365.com');
    expect(resolveEndpoints('dod', { exoUrl: 'https://webmail.apps.mil/powershell-liveID' }).exo.resource).toBe('https://outlook-dod.office365.us');
    expect(resolveEndpoints('dod').ipps).toMatchObject({
      baseUrl: 'https://l5.ps.compliance.protection.office365.us',
      resource: 'https://ps.compliance.protection.office365.us',
    });
  });
});
