import { createAuditTimeline, type AuditTimeline } from './audit-timeline.js';
import { formatDateTime } from './format.js';
import { indexedGuid } from './guid.js';
import type { DatasetIdentity, MailboxGenerator } from './mailboxes.js';
import { asciiStem, organizationPrefix, PARTNER_DOMAINS, TEAM_WORDS } from './names.js';
import { hash32, randomFor, type Random } from './prng.js';

/** One kind of audited activity; `admin` ones are also admin audit log entries. */
export interface AuditOperation {
  operation: string;
  recordType: string;
  /** AuditData carries the number unless `-Formatted`. */
  recordTypeNumber: number;
  workload: string;
  admin: boolean;
  /** Share of records, in percent (the table sums to 100). */
  weight: number;
}

export const AUDIT_OPERATIONS: readonly AuditOperation[] = [
  { operation: 'MailboxLogin', recordType: 'ExchangeItem', recordTypeNumber: 2, workload: 'Exchange', admin: false, weight: 18 },
  { operation: 'MailItemsAccessed', recordType: 'ExchangeItemAggregated', recordTypeNumber: 50, workload: 'Exchange', admin: false, weight: 14 },
  { operation: 'Send', recordType: 'ExchangeItem', recordTypeNumber: 2, workload: 'Exchange', admin: false, weight: 8 },
  { operation: 'New-InboxRule', recordType: 'ExchangeAdmin', recordTypeNumber: 1, workload: 'Exchange', admin: true, weight: 4 },
  { operation: 'Set-Mailbox', recordType: 'ExchangeAdmin', recordTypeNumber: 1, workload: 'Exchange', admin: true, weight: 5 },
  { operation: 'Add-MailboxPermission', recordType: 'ExchangeAdmin', recordTypeNumber: 1, workload: 'Exchange', admin: true, weight: 3 },
  { operation: 'Remove-MailboxPermission', recordType: 'ExchangeAdmin', recordTypeNumber: 1, workload: 'Exchange', admin: true, weight: 2 },
  { operation: 'FileAccessed', recordType: 'SharePointFileOperation', recordTypeNumber: 6, workload: 'SharePoint', admin: false, weight: 16 },
  { operation: 'FileModified', recordType: 'SharePointFileOperation', recordTypeNumber: 6, workload: 'SharePoint', admin: false, weight: 7 },
  { operation: 'FileDownloaded', recordType: 'SharePointFileOperation', recordTypeNumber: 6, workload: 'SharePoint', admin: false, weight: 5 },
  { operation: 'UserLoggedIn', recordType: 'AzureActiveDirectoryStsLogon', recordTypeNumber: 15, workload: 'AzureActiveDirectory', admin: false, weight: 14 },
  { operation: 'UserLoginFailed', recordType: 'AzureActiveDirectoryStsLogon', recordTypeNumber: 15, workload: 'AzureActiveDirectory', admin: false, weight: 4 },
];

/** Actor of a record: a mailbox index, or one of these. */
export const ADMIN_ACTOR = -1;
export const SYSTEM_ACTOR = -2;
/** How Exchange names Microsoft's own datacenter admins (ExternalAccess). */
export const SYSTEM_CALLER = 'NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)';

const USER_TYPES = ['Regular', 'Reserved', 'Admin', 'DcAdmin', 'System'] as const;
const EXO_POWERSHELL_APP = 'fb78d390-0c51-40cd-8e17-fdbfab77341b';
const STREAM_OPERATION = 72;
const STREAM_ACTOR = 73;
const STREAM_TARGET = 74;
const STREAM_RESULT = 75;
const STREAM_DETAILS = 76;
const SALT_ID = 77;
const SALT_SESSION = 78;
const SALT_SITE = 79;
const SALT_ITEM = 80;
const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.18129; Pro)',
  'OneDriveMpc-Transform_Thumbnail/1.0',
];
const CLIENT_INFO: readonly string[] = ['Client=OWA;Action=ViaProxy', 'Client=MSExchangeRPC', 'Client=REST;Client=RESTSystem;;'];
const SUBJECTS: readonly string[] = ['Re: Budget', 'Weekly update', 'Invoice attached', 'Lunch?'];
const SIGN_IN_RESOURCES: readonly string[] = ['00000002-0000-0ff1-ce00-000000000000', '00000003-0000-0ff1-ce00-000000000000', EXO_POWERSHELL_APP];
const FILE_NAMES: readonly string[] = ['Budget 2026.xlsx', 'Roadmap.pptx', 'Minutes.docx', 'Invoice-0042.pdf', 'Org chart.vsdx', 'Notes.txt'];
const CUMULATIVE: readonly number[] = AUDIT_OPERATIONS.reduce<number[]>((sums, op) => [...sums, (sums.at(-1) ?? 0) + op.weight], []);

/** The unified audit log of a tenant: records are built from (salt, index) alone, in time order. */
export interface AuditLog {
  readonly timeline: AuditTimeline;
  /** Records that exist at `nowMs` are the indexes below this. */
  countAt(nowMs: number): number;
  operationAt(index: number): AuditOperation;
  /** {@link ADMIN_ACTOR}, {@link SYSTEM_ACTOR} or a mailbox index. */
  actorAt(index: number): number;
  actorUpn(actor: number): string;
  /** The actor a UserIds/Caller value names; undefined when nobody. */
  resolveActor(upn: string): number | undefined;
  /** Admin operations only: did the cmdlet succeed. */
  succeededAt(index: number): boolean;
  /** The AuditData object (stringify it for the wire). */
  auditData(index: number, formatted: boolean): Record<string, unknown>;
  /** A Search-UnifiedAuditLog object without ResultIndex/ResultCount. */
  unifiedRecord(index: number, formatted: boolean): { head: Record<string, unknown>; tail: Record<string, unknown> };
  /** A Search-AdminAuditLog entry (admin operations only). */
  adminEntry(index: number): Record<string, unknown>;
}

export interface AuditLogOptions {
  tenantId: string;
  perHour: number;
  domainController: string;
}

export function createAuditLog(identity: DatasetIdentity, mailboxes: MailboxGenerator, options: AuditLogOptions): AuditLog {
  const { salt } = identity;
  const organization = identity.organization.toLowerCase();
  const prefix = organizationPrefix(organization);
  const adminUpn = `admin@${organization}`;
  const timeline = createAuditTimeline(salt, options.perHour);

  function operationAt(index: number): AuditOperation {
    const roll = hash32(salt, STREAM_OPERATION, index) % 100;
    const found = CUMULATIVE.findIndex((sum) => roll < sum);
    return AUDIT_OPERATIONS[found] ?? (AUDIT_OPERATIONS[0] as AuditOperation);
  }

  /** A user mailbox picked by `roll`, or the admin when the tenant has none there. */
  function userMailbox(roll: number): number {
    if (mailboxes.count === 0) return ADMIN_ACTOR;
    const index = roll % mailboxes.count;
    return mailboxes.typeAt(index) === 'UserMailbox' ? index : ADMIN_ACTOR;
  }

  function actorAt(index: number): number {
    const roll = hash32(salt, STREAM_ACTOR, index);
    if (!operationAt(index).admin) return userMailbox(roll);
    const share = roll % 100;
    if (share < 4) return SYSTEM_ACTOR;
    if (share < 80) return ADMIN_ACTOR;
    return userMailbox(roll >>> 7);
  }

  function actorUpn(actor: number): string {
    if (actor === ADMIN_ACTOR) return adminUpn;
    if (actor === SYSTEM_ACTOR) return SYSTEM_CALLER;
    return `${mailboxes.aliasAt(actor)}@${organization}`;
  }

  function resolveActor(upn: string): number | undefined {
    const lower = upn.trim().toLowerCase();
    if (lower === adminUpn) return ADMIN_ACTOR;
    if (lower === SYSTEM_CALLER.toLowerCase()) return SYSTEM_ACTOR;
    const index = mailboxes.resolve(lower);
    return index !== undefined && actorUpn(index) === lower ? index : undefined;
  }

  const succeededAt = (index: number): boolean => hash32(salt, STREAM_RESULT, index) % 100 >= 3;
  const targetAt = (index: number): string => (mailboxes.count === 0 ? 'admin' : mailboxes.aliasAt(hash32(salt, STREAM_TARGET, index) % mailboxes.count));
  const recordId = (index: number): string => indexedGuid(hash32(salt, SALT_ID), index);
  const puid = (actor: number): string => `1003200${(hash32(salt, 0x9d1d, actor) >>> 0).toString(16).toUpperCase().padStart(9, '0')}`;

  function clientIp(actor: number, rng: Random): string {
    // People mostly work from one address; one record in five comes from elsewhere.
    const home = hash32(salt, 0x1b, actor);
    if (rng.chance(0.8)) return `${home % 2 === 0 ? '203.0.113' : '198.51.100'}.${1 + (home % 254)}`;
    return rng.chance(0.5) ? `192.0.2.${1 + rng.int(254)}` : `2001:db8:${(home & 0xfff).toString(16)}::${(1 + rng.int(0xfffe)).toString(16)}`;
  }

  function adminParameters(index: number, operation: string, rng: Random): { Name: string; Value: string }[] {
    const target = targetAt(index);
    const other = mailboxes.count === 0 ? adminUpn : `${mailboxes.aliasAt(rng.int(mailboxes.count))}@${organization}`;
    const external = `${asciiStem(rng.pick(TEAM_WORDS))}${rng.int(100)}@${rng.pick(PARTNER_DOMAINS)}`;
    const p = (Name: string, Value: string): { Name: string; Value: string } => ({ Name, Value });
    switch (operation) {
      case 'Set-Mailbox':
        return [
          p('Identity', target),
          rng.pick([
            p('ForwardingSmtpAddress', `smtp:${external}`),
            p('AuditEnabled', 'True'),
            p('LitigationHoldEnabled', 'True'),
            p('HiddenFromAddressListsEnabled', 'True'),
            p('ProhibitSendQuota', '49 GB'),
          ]),
        ];
      case 'New-InboxRule':
        return [
          p('Mailbox', target),
          p('Name', rng.pick(['Move newsletters', 'Forward invoices', '.', 'Auto archive'])),
          rng.pick([p('ForwardTo', external), p('MoveToFolder', `${target}:\\Archive`), p('DeleteMessage', 'True'), p('MarkAsRead', 'True')]),
        ];
      case 'Add-MailboxPermission':
        return [p('Identity', target), p('User', other), p('AccessRights', 'FullAccess'), p('InheritanceType', 'All'), p('AutoMapping', 'False')];
      default:
        return [p('Identity', target), p('User', other), p('AccessRights', 'FullAccess'), p('InheritanceType', 'All'), p('Confirm', 'False')];
    }
  }

  function site(actor: number, rng: Random): { url: string; id: string; workload: string } {
    if (actor >= 0 && rng.chance(0.5)) {
      const owner = actorUpn(actor).replace(/[.@]/g, '_');
      return { url: `https://${prefix}-my.sharepoint.com/personal/${owner}`, id: indexedGuid(hash32(salt, SALT_SITE), 1000 + actor), workload: 'OneDrive' };
    }
    const word = hash32(salt, 0x5e, actor) % TEAM_WORDS.length;
    return {
      url: `https://${prefix}.sharepoint.com/sites/${asciiStem(TEAM_WORDS[word] ?? 'team')}`,
      id: indexedGuid(hash32(salt, SALT_SITE), word),
      workload: 'SharePoint',
    };
  }

  function auditData(index: number, formatted: boolean): Record<string, unknown> {
    const op = operationAt(index);
    const actor = actorAt(index);
    const rng = randomFor(salt, STREAM_DETAILS, index);
    const userId = actorUpn(actor);
    const ip = clientIp(actor, rng);
    const userType = actor === SYSTEM_ACTOR ? 3 : op.admin ? 2 : 0;
    // Built by assignment, not by spreading: spreads made this the hot spot of FreeText scans.
    const data: Record<string, unknown> = {
      CreationTime: formatDateTime(timeline.timeOf(index), 'utc').slice(0, 19),
      Id: recordId(index),
      Operation: op.operation,
      OrganizationId: options.tenantId,
      RecordType: formatted ? op.recordType : op.recordTypeNumber,
    };
    const identify = (resultStatus: string | undefined, userKey: string, workload: string): void => {
      if (resultStatus !== undefined) data['ResultStatus'] = resultStatus;
      data['UserKey'] = userKey;
      data['UserType'] = formatted ? USER_TYPES[userType] : userType;
      data['Version'] = 1;
      data['Workload'] = workload;
      data['ClientIP'] = ip;
      data['UserId'] = userId;
    };
    if (op.admin) {
      identify(succeededAt(index) ? 'True' : 'False', actor === SYSTEM_ACTOR ? 'NT AUTHORITY\\SYSTEM' : puid(actor), op.workload);
      data['ObjectId'] = targetAt(index);
      data['AppId'] = actor === SYSTEM_ACTOR ? '' : EXO_POWERSHELL_APP;
      data['ClientAppId'] = '';
      data['ExternalAccess'] = actor === SYSTEM_ACTOR;
      data['OrganizationName'] = organization;
      data['OriginatingServer'] = originatingServer(index);
      data['Parameters'] = adminParameters(index, op.operation, rng);
      data['SessionId'] = indexedGuid(hash32(salt, SALT_SESSION), index);
      return data;
    }
    if (op.workload === 'Exchange') {
      identify('Succeeded', puid(actor), op.workload);
      data['ClientIPAddress'] = ip;
      data['ClientInfoString'] = rng.pick(CLIENT_INFO);
      data['ExternalAccess'] = false;
      data['LogonType'] = 0;
      data['MailboxGuid'] = actor >= 0 ? mailboxes.guidsAt(actor).exchangeGuid : indexedGuid(hash32(salt, SALT_ITEM), 0);
      data['MailboxOwnerUPN'] = userId;
      data['OrganizationName'] = organization;
      data['OriginatingServer'] = originatingServer(index);
      if (op.operation === 'MailItemsAccessed') {
        data['OperationProperties'] = [
          { Name: 'MailAccessType', Value: rng.chance(0.5) ? 'Bind' : 'Sync' },
          { Name: 'IsThrottled', Value: 'False' },
        ];
        data['OperationCount'] = 1 + rng.int(40);
      } else if (op.operation === 'Send') {
        data['Item'] = {
          Id: indexedGuid(hash32(salt, SALT_ITEM), index),
          ParentFolder: { Path: '\\Sent Items' },
          SizeInBytes: 2000 + rng.int(200_000),
          Subject: rng.pick(SUBJECTS),
        };
      }
      return data;
    }
    if (op.workload === 'SharePoint') {
      const place = site(actor, rng);
      const file = rng.pick(FILE_NAMES);
      const folder = place.workload === 'OneDrive' ? 'Documents' : 'Shared Documents';
      identify(undefined, `i:0h.f|membership|${puid(actor).toLowerCase()}@live.com`, place.workload);
      data['ObjectId'] = `${place.url}/${folder}/${file}`;
      data['CorrelationId'] = indexedGuid(hash32(salt, SALT_ITEM, 1), index);
      data['EventSource'] = 'SharePoint';
      data['ItemType'] = 'File';
      data['Site'] = place.id;
      data['UserAgent'] = rng.pick(USER_AGENTS);
      data['SiteUrl'] = `${place.url}/`;
      data['SourceFileExtension'] = file.slice(file.lastIndexOf('.') + 1);
      data['SourceFileName'] = file;
      data['SourceRelativeUrl'] = folder;
      return data;
    }
    const failed = op.operation === 'UserLoginFailed';
    const objectId = rng.pick(SIGN_IN_RESOURCES);
    const userKey = actor >= 0 ? mailboxes.guidsAt(actor).directoryId : indexedGuid(hash32(salt, SALT_ITEM, 2), 0);
    identify(failed ? 'Failed' : 'Success', userKey, op.workload);
    data['ObjectId'] = objectId;
    data['AzureActiveDirectoryEventType'] = 1;
    data['ExtendedProperties'] = [
      { Name: 'ResultStatusDetail', Value: failed ? 'UserError' : 'Success' },
      { Name: 'UserAgent', Value: rng.pick(USER_AGENTS) },
      { Name: 'RequestType', Value: 'OAuth2:Token' },
    ];
    data['Actor'] = [
      { ID: userKey, Type: 0 },
      { ID: userId, Type: 5 },
    ];
    data['ActorContextId'] = options.tenantId;
    data['ActorIpAddress'] = ip;
    data['InterSystemsId'] = indexedGuid(hash32(salt, SALT_ITEM, 3), index);
    data['IntraSystemId'] = indexedGuid(hash32(salt, SALT_ITEM, 4), index);
    data['Target'] = [{ ID: objectId, Type: 0 }];
    data['TargetContextId'] = options.tenantId;
    data['ApplicationId'] = objectId === EXO_POWERSHELL_APP ? EXO_POWERSHELL_APP : '89bee1f7-5e6e-4d8a-9f3d-ecd601259da7';
    data['ErrorNumber'] = failed ? '50126' : '0';
    if (failed) data['LogonError'] = 'InvalidUserNameOrPassword';
    return data;
  }

  function originatingServer(index: number): string {
    const site_ = options.domainController.split('.')[1] ?? 'NAMPRD01';
    return `${site_.slice(0, 2)}${site_.slice(-2)}PR${String(10 + (hash32(salt, 0x0f, index) % 90))}MB${1000 + (hash32(salt, 0x10, index) % 9000)} (15.20.8207.017)`;
  }

  function unifiedRecord(index: number, formatted: boolean): { head: Record<string, unknown>; tail: Record<string, unknown> } {
    const op = operationAt(index);
    return {
      head: {
        RecordType: op.recordType,
        CreationDate: formatDateTime(timeline.timeOf(index), 'utc'),
        UserIds: actorUpn(actorAt(index)),
        Operations: op.operation,
        AuditData: JSON.stringify(auditData(index, formatted)),
      },
      tail: { Identity: recordId(index), IsValid: true, ObjectState: 'Unchanged' },
    };
  }

  function adminEntry(index: number): Record<string, unknown> {
    const data = auditData(index, false);
    const target = targetAt(index);
    const succeeded = succeededAt(index);
    const parameters = data['Parameters'] as { Name: string; Value: string }[];
    return {
      ObjectModified: target,
      ModifiedObjectResolvedName: target,
      CmdletName: data['Operation'],
      CmdletParameters: parameters.map((parameter) => `${parameter.Name}=${parameter.Value}`),
      ModifiedProperties: [],
      Caller: data['UserId'],
      ExternalAccess: data['ExternalAccess'],
      Succeeded: succeeded,
      Error: succeeded
        ? ''
        : `Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException: The operation couldn't be performed because object '${target}' couldn't be found on '${options.domainController}'.`,
      RunDate: formatDateTime(timeline.timeOf(index), 'utc'),
      OriginatingServer: data['OriginatingServer'],
      ClientIP: data['ClientIP'],
      SessionId: data['SessionId'],
      AppId: data['AppId'],
      ClientAppId: '',
      Identity: recordId(index),
      IsValid: true,
      ObjectState: 'Unchanged',
    };
  }

  return {
    timeline,
    countAt: (nowMs) => timeline.firstAtOrAfter(nowMs),
    operationAt,
    actorAt,
    actorUpn,
    resolveActor,
    succeededAt,
    auditData,
    unifiedRecord,
    adminEntry,
  };
}
