import type { AuditLog } from '../data/audit-records.js';
import type { PropertyTypes } from '../data/property-types.js';
import { actorSet, auditWindow, countMatches, lowerSet, type AuditMatcher } from './audit-query.js';
import type { AuditSession } from './audit-sessions.js';
import type { BoundParameters, CmdletSpec, ParameterType, ResultRow, RunContext } from './types.js';

export const UNIFIED_AUDIT_TYPES: PropertyTypes = { CreationDate: 'datetime', ResultIndex: 'int32', ResultCount: 'int32' };

/** Microsoft.Exchange.Management.SystemConfigurationTasks.AuditRecordType (a common subset). */
const AUDIT_RECORD_TYPE: ParameterType = {
  typeName: 'Microsoft.Exchange.Management.SystemConfigurationTasks.AuditRecordType',
  enum: [
    'ExchangeAdmin',
    'ExchangeItem',
    'ExchangeItemGroup',
    'SharePoint',
    'SharePointFileOperation',
    'OneDrive',
    'AzureActiveDirectory',
    'AzureActiveDirectoryAccountLogon',
    'DataCenterSecurityCmdlet',
    'ComplianceDLPSharePoint',
    'ComplianceDLPExchange',
    'SharePointSharingOperation',
    'AzureActiveDirectoryStsLogon',
    'SecurityComplianceCenterEOPCmdlet',
    'ExchangeAggregatedOperation',
    'PowerBIAudit',
    'MicrosoftTeams',
    'ThreatIntelligence',
    'MailSubmission',
    'MicrosoftFlow',
    'SharePointListOperation',
    'SecurityComplianceAlerts',
    'ThreatIntelligenceUrl',
    'MIPLabel',
    'ExchangeItemAggregated',
    'MicrosoftForms',
    'SharePointContentTypeOperation',
    'Sway',
    'Yammer',
    'CRM',
    'Discovery',
  ],
};

const SESSION_COMMAND: ParameterType = {
  typeName: 'Microsoft.Exchange.Management.SystemConfigurationTasks.UnifiedAuditSessionCommand',
  enum: ['ReturnLargeSet', 'ReturnNextPreviewPage'],
};

const DEFAULT_RESULT_SIZE = 100;
/** Results a session can hand out in total: 50,000 with ReturnLargeSet, 5,000 as preview pages (documented limits). */
const LARGE_SET_CAP = 50_000;
const PREVIEW_CAP = 5_000;
/** Parameters that shape paging, not the query: a session continues across calls that differ only in these. */
const PAGING_PARAMETERS: ReadonlySet<string> = new Set(['ResultSize', 'SessionCommand', 'SessionId', 'Formatted']);

/**
 * Search-UnifiedAuditLog over the seeded audit log: exact [StartDate, EndDate) windows, oldest
 * first. ResultIndex counts within the whole query (1-based), ResultCount is the query's size (at
 * most 50,000). With `-SessionId` repeated calls continue where the previous one stopped and
 * return nothing once the session is exhausted; nextLink paging of one call works as for any cmdlet.
 */
export const searchUnifiedAuditLog: CmdletSpec = {
  name: 'Search-UnifiedAuditLog',
  service: 'exo',
  parameters: [
    { name: 'StartDate', type: 'datetime', mandatory: true },
    { name: 'EndDate', type: 'datetime', mandatory: true },
    { name: 'Formatted', type: 'switch' },
    { name: 'FreeText', type: 'string' },
    { name: 'HighCompleteness', type: 'switch' },
    { name: 'IPAddresses', type: 'string[]' },
    { name: 'LongerRetentionEnabled', type: 'string' },
    { name: 'ObjectIds', type: 'string[]' },
    { name: 'Operations', type: 'string[]' },
    { name: 'RecordType', type: AUDIT_RECORD_TYPE },
    { name: 'ResultSize', type: 'int', range: [1, 5000] },
    { name: 'SessionCommand', type: SESSION_COMMAND },
    { name: 'SessionId', type: 'string' },
    { name: 'SiteIds', type: 'string[]' },
    { name: 'UserIds', type: 'string[]' },
  ],
  limit: (parameters) => ({ max: (parameters.get('ResultSize') as number | undefined) ?? DEFAULT_RESULT_SIZE, isDefault: false }),
  run(dataset, parameters, context) {
    const { audit } = dataset;
    const window = auditWindow(audit, parameters, context.nowMs);
    const matches = unifiedMatcher(audit, parameters);
    const formatted = parameters.get('Formatted') === true;
    const sessionId = parameters.get('SessionId') as string | undefined;
    // Without a command a session id pages like ReturnNextPreviewPage (UNCONFIRMED).
    const cap = sessionId !== undefined && parameters.get('SessionCommand') !== 'ReturnLargeSet' ? PREVIEW_CAP : LARGE_SET_CAP;
    const resultCount = countMatches(matches, window.from, window.to, cap);
    const range =
      sessionId === undefined
        ? { start: window.from, end: window.to }
        : sessionRange(`${dataset.tenantId}|${sessionId}`, parameters, context, { window, matches, cap });
    return {
      startPosition: () => range.start,
      *rows(from): Iterable<ResultRow> {
        const first = Math.max(from, window.from);
        let ordinal = countMatches(matches, window.from, first);
        for (let index = first; index < range.end; index++) {
          if (!matches(index)) continue;
          ordinal++;
          const { head, tail } = audit.unifiedRecord(index, formatted);
          yield { position: index, object: { ...head, ResultIndex: ordinal, ResultCount: resultCount, ...tail }, types: UNIFIED_AUDIT_TYPES };
        }
      },
    };
  },
};

/**
 * The source range this session call returns: the next `ResultSize` matches after the previous
 * call (found now, so the session can advance at once), or the previous call's range again for
 * its nextLink pages.
 */
function sessionRange(
  key: string,
  parameters: BoundParameters,
  context: RunContext,
  query: { window: { from: number; to: number }; matches: AuditMatcher; cap: number },
): { start: number; end: number } {
  const queryKey = JSON.stringify([...parameters].filter(([name]) => !PAGING_PARAMETERS.has(name)).sort(([a], [b]) => a.localeCompare(b)));
  const stored = context.auditSessions?.get(key);
  const session: AuditSession = stored?.queryKey === queryKey ? stored : { queryKey, next: query.window.from, returned: 0, last: { start: 0, end: 0 } };
  if (context.continuation) return stored?.queryKey === queryKey ? stored.last : { start: query.window.from, end: query.window.from };
  const wanted = Math.max(0, Math.min((parameters.get('ResultSize') as number | undefined) ?? DEFAULT_RESULT_SIZE, query.cap - session.returned));
  const start = session.next;
  let end = start;
  let found = 0;
  while (end < query.window.to && found < wanted) {
    if (query.matches(end)) found++;
    end++;
  }
  context.auditSessions?.set(key, { queryKey, next: end, returned: session.returned + found, last: { start, end } });
  return { start, end };
}

function unifiedMatcher(audit: AuditLog, parameters: BoundParameters): AuditMatcher {
  const recordType = parameters.get('RecordType') as string | undefined;
  const operations = lowerSet(parameters, 'Operations');
  const actors = actorSet(audit, parameters, 'UserIds');
  const objectIds = lowerSet(parameters, 'ObjectIds');
  const addresses = lowerSet(parameters, 'IPAddresses');
  const sites = lowerSet(parameters, 'SiteIds');
  const freeText = (parameters.get('FreeText') as string | undefined)?.toLowerCase();
  const detailed = objectIds || addresses || sites || freeText !== undefined;
  return (index) => {
    const operation = audit.operationAt(index);
    if (recordType !== undefined && operation.recordType !== recordType) return false;
    if (operations && !operations.has(operation.operation.toLowerCase())) return false;
    if (actors && !actors.has(audit.actorAt(index))) return false;
    if (!detailed) return true;
    // Only these filters need the whole record; the cheap ones above ran first.
    const data = audit.auditData(index, false);
    const text = (name: string): string => (typeof data[name] === 'string' ? data[name].toLowerCase() : '');
    if (objectIds && !objectIds.has(text('ObjectId'))) return false;
    if (addresses && !addresses.has(text('ClientIP'))) return false;
    if (sites && !sites.has(text('Site'))) return false;
    return freeText === undefined || JSON.stringify(data).toLowerCase().includes(freeText);
  };
}
