/**
 * Sign-in hosts msal-node ships metadata for (its instance discovery table): for these it needs no
 * network call to learn where the token endpoint is.
 */
const MSAL_BUILT_IN_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'sts.windows.net',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
  'login.microsoftonline.de',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login-us.microsoftonline.com',
]);

/**
 * The `knownAuthorities` msal-node must be given for an authority host. For a host it ships
 * metadata for, none. For any other — an `authority` override (the module's
 * -AzureADAuthorizationEndpointUri), a proxy, a stand-in — the host itself (with its port, which
 * msal compares), so that msal reads that host's own OpenID configuration instead of running
 * instance discovery against login.microsoftonline.com, which a private or offline sign-in host
 * would fail with a misleading "tenant not found".
 */
export function knownAuthoritiesFor(authorityHost: string): string[] {
  const url = new URL(authorityHost);
  if (url.port === '' && MSAL_BUILT_IN_HOSTS.has(url.hostname.toLowerCase())) return [];
  return [url.host];
}
