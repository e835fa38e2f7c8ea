import { describe, expect, it } from 'vitest';
import { createServiceResources, resourceOrigin } from '../src/resources.js';

describe('resource origins', () => {
  it('writes an origin as a URL client does: lower-case host, default port left out, IPv6 in brackets', () => {
    expect(resourceOrigin('https://Outlook.Office365.com/')).toBe('https://outlook.office365.com');
    expect(resourceOrigin('https://sim.example:443')).toBe('https://sim.example');
    expect(resourceOrigin('https://sim.example:8443')).toBe('https://sim.example:8443');
    expect(resourceOrigin('https://[::1]:4431')).toBe('https://[::1]:4431');
  });

  it('is undefined for anything that is not a bare origin', () => {
    for (const value of ['https://sim.example/powershell-liveid', 'https://sim.example/?x=1', 'api://exorun', 'not a url', 'https://user@sim.example']) {
      expect(resourceOrigin(value)).toBeUndefined();
    }
  });
});

describe('service resources', () => {
  const resources = createServiceResources(() => ({ exo: 'https://sim.example:443', ipps: 'https://sim.example:8443' }));

  it('knows each service by its canonical resources and by its own public origin', () => {
    expect(resources.find('https://outlook.office365.com')).toEqual({ service: 'exo', audience: 'https://outlook.office365.com' });
    expect(resources.find('https://outlook.office.com/')).toEqual({ service: 'exo', audience: 'https://outlook.office.com' });
    expect(resources.find('https://ps.compliance.protection.outlook.com')).toEqual({
      service: 'ipps',
      audience: 'https://ps.compliance.protection.outlook.com',
    });
    // A client configured with https://sim.example:443/… asks for https://sim.example.
    expect(resources.find('https://sim.example')).toEqual({ service: 'exo', audience: 'https://sim.example' });
    expect(resources.find('https://sim.example:8443')).toEqual({ service: 'ipps', audience: 'https://sim.example:8443' });
  });

  it('does not know other resources, other ports or a regional sub-domain', () => {
    for (const resource of ['https://graph.microsoft.com', 'https://sim.example:9443', 'https://nam12b.sim.example:8443', 'http://sim.example']) {
      expect(resources.find(resource)).toBeUndefined();
    }
    expect(resources.accepts('exo', 'https://sim.example:8443')).toBe(false);
    expect(resources.accepts('ipps', 'https://sim.example:8443/')).toBe(true);
  });
});
