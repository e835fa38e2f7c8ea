/**
 * Reads the `tid` claim of a JWT access token without verifying it: exorun only uses it to address
 * the tenant's admin URL and anchor mailbox; the service verifies the token.
 */
export function tenantIdFromToken(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof claims['tid'] === 'string' ? claims['tid'] : undefined;
  } catch {
    return undefined;
  }
}
