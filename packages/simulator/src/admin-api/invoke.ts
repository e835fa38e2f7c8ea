import { createHash } from 'node:crypto';
import type { ServiceName } from '../types.js';
import type { AuditSessionStore } from '../cmdlets/audit-sessions.js';
import { bindParameters } from '../cmdlets/binding.js';
import { isCmdletError } from '../cmdlets/cmdlet-error.js';
import type { CmdletRegistry } from '../cmdlets/registry.js';
import { MORE_RESULTS_WARNING, resultLimit, takeWindow } from '../cmdlets/result-window.js';
import { annotate, selectProperties } from '../data/property-types.js';
import type { SimResponse } from '../http.js';
import type { TenantRecord } from '../tenants.js';
import type { CursorStore } from './cursors.js';
import { envelopeResponse, invalidBodyError, ODATA_CONTENT_TYPE, paginationError, unknownCmdletResponse } from './envelope.js';

export interface InvokeRequest {
  tenant: TenantRecord;
  service: ServiceName;
  /** The tenant path segment exactly as sent (id or domain), reused in links. */
  tenantSegment: string;
  /** Origin of the listener that answers, for `@odata.context` and nextLinks. */
  origin: string;
  url: URL;
  body: Buffer;
  prefer: string | undefined;
  errorFormat: 'A' | 'B';
}

export interface InvokeOutcome {
  response: SimResponse;
  cmdlet: string;
  page: number;
}

type CmdletInput = { name: string; parameters: Record<string, unknown> };

/** Runs one InvokeCommand request that passed auth, limits and faults; returns one page or an error. */
export function invokeCommand(
  request: InvokeRequest,
  deps: { registry: CmdletRegistry; cursors: CursorStore; auditSessions: AuditSessionStore; now: () => number },
): InvokeOutcome {
  const input = parseCmdletInput(request.body);
  if (typeof input === 'string') return { response: envelopeResponse(invalidBodyError(input), request.errorFormat), cmdlet: '', page: 0 };
  const fail = (response: SimResponse, page: number): InvokeOutcome => ({ response, cmdlet: input.name, page });

  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const skipToken = request.url.searchParams.get('$skiptoken');
  const expected = { tenantId: request.tenant.tenantId, service: request.service, bodyHash };
  const cursor = skipToken === null ? undefined : deps.cursors.use(skipToken, expected);
  if (skipToken !== null && !cursor) return fail(envelopeResponse(paginationError(), request.errorFormat), 0);
  const page = cursor?.page ?? 1;

  const spec = deps.registry.find(request.service, input.name);
  if (!spec) return fail(unknownCmdletResponse(request.service, input.name, request.errorFormat), page);
  try {
    const parameters = bindParameters(spec, input.parameters);
    const source = spec.run(request.tenant.dataset, parameters, { nowMs: deps.now(), continuation: cursor !== undefined, auditSessions: deps.auditSessions });
    const limit = resultLimit(spec, parameters);
    const window = takeWindow(source, {
      from: cursor?.position ?? source.startPosition?.() ?? 0,
      emitted: cursor?.emitted ?? 0,
      pageSize: maxPageSize(request.prefer),
      limit,
    });
    const selectText = request.url.searchParams.get('$select') ?? undefined;
    const select = selectText === undefined ? undefined : new Set(selectText.split(',').map((name) => name.trim().toLowerCase()));
    const warnings = [...(source.warnings ?? []), ...(window.truncated ? [MORE_RESULTS_WARNING] : [])];
    const base = `${request.origin}/adminapi/beta/${request.tenantSegment}`;
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/$metadata#Collection(Exchange.GenericHashTable)`,
      'adminapi.warnings@odata.type': '#Collection(String)',
      '@adminapi.warnings': warnings,
      value: window.rows.map((row) => annotate(selectProperties(row.object, select), row.types)),
    };
    if (window.next) {
      const token = deps.cursors.create({ ...expected, position: window.next.position, emitted: window.next.emitted, page: page + 1 });
      const selectPart = selectText === undefined ? '' : `$select=${encodeURIComponent(selectText).replace(/%2C/gi, ',')}&`;
      body['@odata.nextLink'] = `${base}/InvokeCommand?${selectPart}$skiptoken=${token}`;
    }
    return { response: { status: 200, headers: { 'Content-Type': ODATA_CONTENT_TYPE }, body: JSON.stringify(body) }, cmdlet: spec.name, page };
  } catch (error) {
    if (isCmdletError(error)) return fail(envelopeResponse(error, request.errorFormat), page);
    throw error;
  }
}

/** `Prefer: odata.maxpagesize=N`: 1..1000, larger values clamped, default 1000, as the service pages. */
export function maxPageSize(prefer: string | undefined): number {
  const match = /odata\.maxpagesize\s*=\s*"?(\d+)"?/i.exec(prefer ?? '');
  const size = match?.[1] === undefined ? 0 : Number(match[1]);
  if (!Number.isSafeInteger(size) || size < 1) return 1000;
  return Math.min(size, 1000);
}

function parseCmdletInput(body: Buffer): CmdletInput | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body is not valid JSON.';
  }
  const input = isObject(json) ? json['CmdletInput'] : undefined;
  if (!isObject(input)) return "the body has no 'CmdletInput' object.";
  const name = input['CmdletName'];
  if (typeof name !== 'string' || name.trim() === '') return "'CmdletInput.CmdletName' must be a non-empty string.";
  const parameters = input['Parameters'];
  if (parameters === undefined || parameters === null) return { name: name.trim(), parameters: {} };
  if (!isObject(parameters)) return "'CmdletInput.Parameters' must be an object.";
  return { name: name.trim(), parameters };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The cmdlet name of a body, for the call log of requests refused before they ran. */
export function peekCmdletName(body: Buffer): string {
  const input = parseCmdletInput(body);
  return typeof input === 'string' ? '' : input.name;
}
