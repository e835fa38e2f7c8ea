import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { CmdletRegistry } from './cmdlets/registry.js';
import { DEFAULT_AUDIT_RECORDS_PER_HOUR, MAX_AUDIT_RECORDS_PER_HOUR } from './data/audit-timeline.js';
import { guidFromText } from './data/guid.js';
import { capitalise, organizationPrefix } from './data/names.js';
import { createTenantDataset, type TenantDataset } from './data/tenant-dataset.js';
import { checkUpns, createUserDirectory, type UserDirectory } from './directory.js';
import { mergeSettings, parseTenantSettings } from './settings.js';
import { createTenantData } from './tenant-data.js';
import { createSelfSignedCertificateAsync } from './tls.js';
import type { ProvisionedTenant, ProvisionRequest, SimulatedUser, TenantData, TenantSettings } from './types.js';

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
  readonly auditRecordsPerHour: number;
  readonly clientId: string;
  readonly appDisplayName: string;
  /** The app's service principal object id: `oid`/`sub` of its tokens. */
  readonly servicePrincipalId: string;
  readonly dataset: TenantDataset;
  readonly data: TenantData;
  settings: TenantSettings;
  readonly credentials: RegisteredCredential[];
  /** Who can sign in with delegated flows. */
  readonly users: UserDirectory;
}

export interface TenantRegistry {
  provision(request: ProvisionRequest): Promise<ProvisionedTenant>;
  /** By tenant id or organization, case-insensitive. */
  find(organizationOrId: string): TenantRecord | undefined;
  /** The tenant whose organization is the UPN's domain, and the user, when both exist. */
  findUser(upn: string): { tenant: TenantRecord; user: SimulatedUser } | undefined;
  all(): readonly TenantRecord[];
}

const MAX_MAILBOXES = 50_000_000;
const DOMAIN_PATTERN = /^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;

/**
 * @param options.now The simulator clock: audit data (TenantData too) ends at its now.
 */
export function createTenantRegistry(cmdlets: CmdletRegistry, options: { now?: () => number } = {}): TenantRegistry {
  const now = options.now ?? Date.now;
  const byKey = new Map<string, TenantRecord>();
  const records: TenantRecord[] = [];

  function register(request: ProvisionRequest): TenantRecord {
    const organization = request.organization;
    const seed = request.seed ?? 1;
    const mailboxCount = request.mailboxCount ?? 250;
    const auditRecordsPerHour = request.auditRecordsPerHour ?? DEFAULT_AUDIT_RECORDS_PER_HOUR;
    const clientId = request.clientId?.toLowerCase();
    const existing = byKey.get(organization.toLowerCase());
    if (existing && clientId !== undefined && existing.clientId !== clientId) {
      throw new Error(`tenant ${organization} is already provisioned with the app ${existing.clientId}; got clientId ${clientId}`);
    }
    if (existing) {
      if (existing.seed !== seed || existing.mailboxCount !== mailboxCount || existing.auditRecordsPerHour !== auditRecordsPerHour) {
        throw new Error(
          `tenant ${organization} is already provisioned with seed ${existing.seed}, mailboxCount ${existing.mailboxCount} and auditRecordsPerHour ${existing.auditRecordsPerHour}; ` +
            `got seed ${seed}, mailboxCount ${mailboxCount} and auditRecordsPerHour ${auditRecordsPerHour}`,
        );
      }
      return existing;
    }
    const tenantId = guidFromText(`tenant:${organization.toLowerCase()}`);
    const dataset = createTenantDataset({ tenantId, organization, seed, mailboxCount, auditRecordsPerHour });
    const record: TenantRecord = {
      tenantId,
      organization,
      seed,
      mailboxCount,
      auditRecordsPerHour,
      clientId: clientId ?? guidFromText(`app:${organization.toLowerCase()}`),
      appDisplayName: `exorun (${capitalise(organizationPrefix(organization))})`,
      servicePrincipalId: guidFromText(`service-principal:${organization.toLowerCase()}`),
      dataset,
      data: createTenantData(dataset, cmdlets, now),
      settings: {},
      credentials: [],
      users: createUserDirectory(organization),
    };
    byKey.set(organization.toLowerCase(), record);
    byKey.set(tenantId, record);
    records.push(record);
    return record;
  }

  const generatedCredentials = new Map<string, Promise<{ certificatePem: string; privateKeyPem: string }>>();

  return {
    async provision(request) {
      validate(request);
      const {
        organization: _organization,
        seed: _seed,
        mailboxCount: _count,
        users: _users,
        certificatePem: external,
        auditRecordsPerHour: _rate,
        clientId: _clientId,
        ...settings
      } = request;
      const overrides = parseTenantSettings(settings);
      const upns = request.users === undefined ? [] : checkUpns(request.users, request.organization);
      // Checked before anything is registered, so a bad request changes nothing.
      const externalCredential = external === undefined ? undefined : toCredential(external);
      const record = register(request);
      if (Object.keys(overrides).length > 0) record.settings = mergeSettings(record.settings, overrides);
      record.users.add(upns);
      if (externalCredential) record.credentials.push(externalCredential);
      // One generated app certificate per tenant, as an admin registers one certificate on the app:
      // every worker that provisions the tenant gets the same one. Generating a key pair per call
      // cost each worker's first contact with each tenant an RSA key generation.
      let generated = generatedCredentials.get(record.tenantId);
      if (!generated) {
        generated = createSelfSignedCertificateAsync({ commonName: `exorun-${organizationPrefix(record.organization)}` });
        generatedCredentials.set(record.tenantId, generated);
        const registered = record;
        generated.then(
          (value) => registered.credentials.push(toCredential(value.certificatePem)),
          () => generatedCredentials.delete(registered.tenantId),
        );
      }
      const credential = await generated;
      return {
        tenantId: record.tenantId,
        organization: record.organization,
        clientId: record.clientId,
        certificatePem: credential.certificatePem,
        privateKeyPem: credential.privateKeyPem,
        users: record.users.all(),
      };
    },
    find: (organizationOrId) => byKey.get(organizationOrId.trim().toLowerCase()),
    findUser(upn) {
      const domain = upn.trim().toLowerCase().split('@')[1];
      const tenant = domain === undefined ? undefined : byKey.get(domain);
      const user = tenant?.users.find(upn);
      return tenant && user ? { tenant, user } : undefined;
    },
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
  const rate = request.auditRecordsPerHour;
  if (rate !== undefined && (!Number.isSafeInteger(rate) || rate < 0 || rate > MAX_AUDIT_RECORDS_PER_HOUR)) {
    throw new Error(`auditRecordsPerHour must be an integer from 0 to ${MAX_AUDIT_RECORDS_PER_HOUR}`);
  }
  if (request.certificatePem !== undefined && typeof request.certificatePem !== 'string') throw new Error('certificatePem must be a PEM string');
  if (request.clientId !== undefined && (typeof request.clientId !== 'string' || !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(request.clientId))) {
    throw new Error('clientId must be a GUID');
  }
}

function toCredential(certificatePem: string): RegisteredCredential {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    throw new Error('certificatePem is not a PEM certificate');
  }
  // msal-node signs assertions with RS256/PS256 only, so any other key could never sign in.
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw new Error('certificatePem must hold an RSA public key');
  return {
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
    publicKey: cert.publicKey,
  };
}
