export { createExchangeClient, type ExchangeClientOptions } from './exchange-client.js';
export { createHttpTransport, type HttpTransportOptions } from './http-transport.js';
export { parseRetryAfterMs } from './retry-after.js';
export { isTrustedUrl } from './trusted-hosts.js';
