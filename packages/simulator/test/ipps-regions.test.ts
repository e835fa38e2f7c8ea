import { describe, expect, it } from 'vitest';
import { checkRegion, regionalCertificateNames, usesRegionalSubdomains } from '../src/ipps-regions.js';

describe('IPPS regional sub-domains', () => {
  it('are used for DNS names only, never for IP literals', () => {
    expect(usesRegionalSubdomains('sim.localhost')).toBe(true);
    expect(usesRegionalSubdomains('simulator')).toBe(true);
    expect(usesRegionalSubdomains('127.0.0.1')).toBe(false);
    expect(usesRegionalSubdomains('::1')).toBe(false);
  });

  it("name the region's host in the certificate, and a wildcard only where Node accepts one", () => {
    expect(regionalCertificateNames('sim.localhost', 'nam12b')).toEqual(['nam12b.sim.localhost', '*.sim.localhost']);
    // Node's checkServerIdentity refuses `*.simulator` (a wildcard over a single label).
    expect(regionalCertificateNames('simulator', 'eur02b')).toEqual(['eur02b.simulator']);
  });

  it('take region labels in the service shape only', () => {
    expect(checkRegion('NAM12B')).toBe('nam12b');
    expect(() => checkRegion('nam12b.evil')).toThrow(/region label/);
    expect(() => checkRegion('west')).toThrow(/region label/);
  });
});
