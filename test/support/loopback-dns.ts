/**
 * Test-only: resolves `localhost` and every `*.localhost` name to the loopback address, as RFC
 * 6761 reserves them for loopback (glibc here resolves `localhost` but none of its sub-domains).
 * Tests can then address the simulator by a DNS name such as `sim.localhost`, and reach the IPPS
 * regional host `nam12b.sim.localhost` it redirects to, exactly as an admin addresses a real host,
 * without touching product code. Every other name goes to the real resolver.
 *
 * Loaded as a vitest setupFile (vitest.config.ts) and, in child processes, with
 * `node --import tsx --import <this file>` (spawnExorun). Node's net/tls (and so undici) look up
 * host names through `dns.lookup`, which is what this wraps.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

const LOOPBACK_NAME = /(^|\.)localhost\.?$/i;
const INSTALLED = Symbol.for('exorun.test.loopbackDns');

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function loopbackFor(options: LookupOptions | number | undefined): LookupAddress {
  const family = typeof options === 'number' ? options : options?.family;
  return family === 6 || family === 'IPv6' ? { address: '::1', family: 6 } : { address: '127.0.0.1', family: 4 };
}

function wantsAll(options: LookupOptions | number | undefined): boolean {
  return typeof options === 'object' && options.all === true;
}

if (!(dns.lookup as unknown as Record<symbol, boolean>)[INSTALLED]) {
  const resolve = dns.lookup.bind(dns) as (hostname: string, options: LookupOptions, callback: LookupCallback) => void;
  const lookup = (hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback;
    const given = typeof options === 'function' ? undefined : options;
    if (!LOOPBACK_NAME.test(hostname)) {
      resolve(hostname, typeof given === 'number' ? { family: given } : (given ?? {}), done);
      return;
    }
    const address = loopbackFor(given);
    process.nextTick(() => (wantsAll(given) ? done(null, [address]) : done(null, address.address, address.family)));
  };
  Object.defineProperty(lookup, INSTALLED, { value: true });
  dns.lookup = lookup as typeof dns.lookup;

  const resolvePromise = dns.promises.lookup.bind(dns.promises);
  dns.promises.lookup = (async (hostname: string, options?: LookupOptions | number) => {
    if (!LOOPBACK_NAME.test(hostname)) return resolvePromise(hostname, typeof options === 'number' ? { family: options } : (options ?? {}));
    const address = loopbackFor(options);
    return wantsAll(options) ? [address] : address;
  }) as typeof dns.promises.lookup;

  // `import { lookup } from 'node:dns'` elsewhere sees the wrapped function too.
  syncBuiltinESMExports();
}
