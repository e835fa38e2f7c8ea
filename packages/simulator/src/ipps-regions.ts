import { isIP } from 'node:net';
import type { RequestHandler } from './http.js';
import { header, readBody, textResponse, writeResponse } from './http.js';

/** The region the IPPS global host redirects to unless told otherwise (a North American one). */
export const DEFAULT_IPPS_REGION = 'nam12b';

/** Region labels as the service names its regional hosts: `nam12b`, `eur02b`, `bra01b`, … */
const REGION_LABEL = /^[a-z]{3}\d{2}b$/;

export function checkRegion(region: string): string {
  const lower = region.toLowerCase();
  if (!REGION_LABEL.test(lower)) throw new Error(`ippsRegion must look like a service region label such as 'nam12b', got '${region}'`);
  return lower;
}

/**
 * The real IPPS global host redirects to a sub-domain of itself (`{region}.ps.compliance…`, same
 * port). The simulator can do the same only when its public host is a DNS name; an IP literal has
 * no sub-domains, so it keeps a separate regional listener.
 */
export function usesRegionalSubdomains(publicHost: string): boolean {
  return isIP(publicHost) === 0;
}

/**
 * Names the server certificate must cover for regional sub-domains of `publicHost`: the region's
 * own name always, because Node's `tls.checkServerIdentity` refuses a wildcard with fewer than
 * three labels (`*.localhost`, `*.simulator`); and `*.{publicHost}` where Node accepts it, so a
 * client may address any region label.
 */
export function regionalCertificateNames(publicHost: string, region: string): string[] {
  const names = [`${region}.${publicHost}`];
  if (publicHost.split('.').length >= 2) names.push(`*.${publicHost}`);
  return names;
}

/**
 * The handler of the IPPS listener in sub-domain mode: requests whose Host is
 * `{region}.{publicHost}` (any region label) go to the regional handler, other sub-domains of the
 * public host get 404, everything else (the public host itself, localhost, an IP) is the global
 * host, which redirects.
 */
export function routeByRegionalHost(publicHost: string, handlers: { global: RequestHandler; regional: RequestHandler }): RequestHandler {
  const suffix = `.${publicHost.toLowerCase()}`;
  return async (req, res) => {
    const hostname = hostnameOf(header(req, 'host'));
    if (hostname === undefined || !hostname.endsWith(suffix)) return handlers.global(req, res);
    const label = hostname.slice(0, -suffix.length);
    if (REGION_LABEL.test(label)) return handlers.regional(req, res);
    await readBody(req).catch(() => undefined);
    writeResponse(res, textResponse(404, 'Not Found'));
  };
}

function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  try {
    return new URL(`https://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
