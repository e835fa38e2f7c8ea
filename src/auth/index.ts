export { loadCertificateCredential, credentialFromPem, daysUntilExpiry, CERTIFICATE_WARNING_MS, type CertificateCredential } from './certificate.js';
export { createCertificateTokenProvider, type CertificateTokenProviderOptions } from './certificate-token-provider.js';
export { cloudEndpoints } from './clouds.js';
export { readSecret } from './secrets.js';
export { tenantIdFromToken } from './token-claims.js';
