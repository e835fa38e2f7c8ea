import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { CmdletRegistry } from './cmdlets/registry.js';
import { guidFromText } from './data/guid.js';
import { capitalise, organizationPrefix } from './data/names.js';
import { createTenantDataset, type TenantDataset } from './data/tenant-dataset.js';
import { mergeSettings, parseTenantSettings } from './settings.js';
import { createTenantData } from './tenant-data.js';
import { createSelfSignedCertificateAsync } from './tls.js';
import type { ProvisionedTenant, ProvisionRequest, TenantData, TenantSettings } from './types.js';

/** A certificate registered on a tenant's app, indexed by the thumbprints assertions carry. */
export interface RegisteredCredential {
  /** base64url SHA-256 of the DER (the `x5t#S256` header). */
  x5tS256: string;
  /** base64url SHA-1 of the DER (the `x5t` header). */
  x5t: string;
  publicKey: KeyObject;
}

export interface TenantRecord {
  readonly tenantId: string;
  readonly organization: string;
  readonly seed: number;
  readonly mailboxCount: number;
  readonly clientId: string;
  readonly appDisplayName: string;
  /** The app's service principal object id: `oid`/`sub` of its tokens. */
  readonly servicePrincipalId: string;
  readonly dataset: TenantDataset;
  readonly data: TenantData;
  settings: TenantSettings;
  readonly credentials: RegisteredCredential[];
}

export interface TenantRegistry {
  provision(request: ProvisionRequest): Promise<ProvisionedTenant>;
  /** By tenant id or organization, case-insensitive. */
  find(organizationOrId: string): TenantRecord | undefined;
  all(): readonly TenantRecord[];
}

const MAX_MAILBOXES = 50_000_000;
const DOMAIN_PATTERN = /^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;

export function createTenantRegistry(cmdlets: CmdletRegistry): TenantRegistry {
  const byKey = new Map<string, TenantRecord>();
  const records: TenantRecord[] = [];

  function register(request: ProvisionRequest): TenantRecord {
    const organization = request.organization;
    const seed = request.seed ?? 1;
    const mailboxCount = request.mailboxCount ?? 250;
    const existing = byKey.get(organization.toLowerCase());
    if (existing) {
      if (existing.seed !== seed || existing.mailboxCount !== mailboxCount) {
        throw new Error(
          `tenant ${organization} is already provisioned with seed ${existing.seed} and mailboxCount ${existing.mailboxCount}; ` +
            `got seed ${seed} and mailboxCount ${mailboxCount}`,
        );
      }
      return existing;
    }
    const tenantId = guidFromText(`tenant:${organization.toLowerCase()}`);
    const dataset = createTenantDataset({ tenantId, organization, seed, mailboxCount });
    const record: TenantRecord = {
      tenantId,
      organization,
      seed,
      mailboxCount,
      clientId: guidFromText(`app:${organization.toLowerCase()}`),
      appDisplayName: `exorun (${capitalise(organizationPrefix(organization))})`,
      servicePrincipalId: guidFromText(`service-principal:${organization.toLowerCase()}`),
      dataset,
      data: createTenantData(dataset, cmdlets),
      settings: {},
      credentials: [],
    };
    byKey.set(organization.toLowerCase(), record);
    byKey.set(tenantId, record);
    records.push(record);
    return record;
  }

  return {
    async provision(request) {
      validate(request);
      const { organization: _organization, seed: _seed, mailboxCount: _count, ...settings } = request;
      const overrides = parseTenantSettings(settings);
      const record = register(request);
      if (Object.keys(overrides).length > 0) record.settings = mergeSettings(record.settings, overrides);
      const credential = await createSelfSignedCertificateAsync({ commonName: `exorun-${organizationPrefix(record.organization)}` });
      record.credentials.push(toCredential(credential.certificatePem));
      return {
        tenantId: record.tenantId,
        organization: record.organization,
        clientId: record.clientId,
        certificatePem: credential.certificatePem,
        privateKeyPem: credential.privateKeyPem,
      };
    },
    find: (organizationOrId) => byKey.get(organizationOrId.trim().toLowerCase()),
    all: () => records,
  };
}

function validate(request: ProvisionRequest): void {
  if (typeof request !== 'object' || request === null) throw new Error('a provision request must be an object');
  if (typeof request.organization !== 'string' || !DOMAIN_PATTERN.test(request.organization)) {
    throw new Error("organization must be a domain name such as 'contoso.onmicrosoft.com'");
  }
  if (request.seed !== undefined && !Number.isSafeInteger(request.seed)) throw new Error('seed must be an integer');
  const count = request.mailboxCount;
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 0 || count > MAX_MAILBOXES)) {
    throw new Error(`mailboxCount must be an integer from 0 to ${MAX_MAILBOXES}`);
  }
}

function toCredential(certificatePem: string): RegisteredCredential {
  const cert = new X509Certificate(certificatePem);
  return {
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    publicKey: cert.publicKey,
  };
}
