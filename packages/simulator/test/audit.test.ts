import { describe, expect, it } from 'vitest';
import { auditWindow } from '../src/cmdlets/audit-query.js';
import { createAuditSessionStore } from '../src/cmdlets/audit-sessions.js';
import { bindParameters } from '../src/cmdlets/binding.js';
import { isCmdletError } from '../src/cmdlets/cmdlet-error.js';
import { parseDateTime } from '../src/cmdlets/date-time.js';
import { createCmdletRegistry } from '../src/cmdlets/registry.js';
import { resultLimit, takeWindow } from '../src/cmdlets/result-window.js';
import { searchAdminAuditLog } from '../src/cmdlets/search-admin-audit-log.js';
import { searchUnifiedAuditLog } from '../src/cmdlets/search-unified-audit-log.js';
import type { RunContext } from '../src/cmdlets/types.js';
import { ADMIN_ACTOR, AUDIT_OPERATIONS, SYSTEM_CALLER } from '../src/data/audit-records.js';
import { AUDIT_EPOCH_MS, createAuditTimeline } from '../src/data/audit-timeline.js';
import { createRandom } from '../src/data/prng.js';
import { createTenantDataset } from '../src/data/tenant-dataset.js';
import { createTenantData } from '../src/tenant-data.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 1);
const dataset = (perHour = 20, mailboxCount = 30) =>
  createTenantDataset({
    tenantId: '5f0c1e4a-1111-4222-8333-444455556666',
    organization: 'contoso.onmicrosoft.com',
    seed: 3,
    mailboxCount,
    auditRecordsPerHour: perHour,
  });
const context = (extra: Partial<RunContext> = {}): RunContext => ({ nowMs: NOW, continuation: false, ...extra });

describe('audit timeline', () => {
  it('puts exactly perHour records in every hour, at strictly increasing whole seconds', () => {
    for (const perHour of [1, 7, 20, 3600]) {
      const timeline = createAuditTimeline(12345, perHour);
      let previous = -1;
      for (let index = 0; index < perHour * 3; index++) {
        const time = timeline.timeOf(index);
        expect(time).toBeGreaterThan(previous);
        expect(time % 1000).toBe(0);
        expect(Math.floor((time - AUDIT_EPOCH_MS) / HOUR)).toBe(Math.floor(index / perHour));
        previous = time;
      }
    }
  });

  it('finds the first record at or after any instant (checked against a scan)', () => {
    const timeline = createAuditTimeline(99, 13);
    const times = Array.from({ length: 13 * 5 }, (_, index) => timeline.timeOf(index));
    const random = createRandom(7);
    const probes = [AUDIT_EPOCH_MS - 5, AUDIT_EPOCH_MS, ...times, ...times.map((time) => time + 1), ...times.map((time) => time - 1)];
    for (let i = 0; i < 200; i++) probes.push(AUDIT_EPOCH_MS + Math.floor(random.next() * 5 * HOUR));
    for (const probe of probes) {
      const expected = times.findIndex((time) => time >= probe);
      expect(timeline.firstAtOrAfter(probe)).toBe(expected === -1 ? times.length : expected);
    }
  });
});

describe('DateTime parameters', () => {
  it('reads ISO 8601, .NET round-trip and en-US forms as UTC', () => {
    expect(parseDateTime('2026-02-01')).toBe(Date.UTC(2026, 1, 1));
    expect(parseDateTime('2026-02-01T10:11:12Z')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12));
    expect(parseDateTime('2026-02-01T10:11:12')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12));
    expect(parseDateTime('2026-02-01T10:11:12.1234567Z')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12, 124));
    expect(parseDateTime('2026-02-01T10:11:12.0000000Z')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12));
    // Sub-millisecond fractions round up: a bound just after a record's second excludes it.
    expect(parseDateTime('2026-02-01T10:11:12.0000001Z')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12, 1));
    expect(parseDateTime('2026-02-01T12:11:12+02:00')).toBe(Date.UTC(2026, 1, 1, 10, 11, 12));
    expect(parseDateTime('2/1/2026')).toBe(Date.UTC(2026, 1, 1));
    expect(parseDateTime('2/1/2026 1:05 PM')).toBe(Date.UTC(2026, 1, 1, 13, 5));
    expect(parseDateTime('2/1/2026 12:00:30 AM')).toBe(Date.UTC(2026, 1, 1, 0, 0, 30));
  });

  it('refuses what is not a date', () => {
    for (const text of ['yesterday', '2026-02-30', '2026-13-01', '2026-02-01T25:00:00', '13/1/2026 1:00 PM', '']) {
      expect(parseDateTime(text), text).toBeUndefined();
    }
  });

  it('binds through the parameter table with the service texts', () => {
    expect(bindParameters(searchUnifiedAuditLog, { StartDate: '2026-02-01', EndDate: '2026-02-02' }).get('StartDate')).toBe(Date.UTC(2026, 1, 1));
    const fail = (parameters: Record<string, unknown>): string => {
      try {
        bindParameters(searchUnifiedAuditLog, parameters);
      } catch (error) {
        if (isCmdletError(error)) return error.text;
      }
      return 'no error';
    };
    expect(fail({ StartDate: 5, EndDate: '2026-02-02' })).toMatch(/Cannot convert value "5" to type "Microsoft\.Exchange\.ExchangeSystem\.ExDateTime"/);
    expect(fail({ StartDate: '2026-02-01', EndDate: '2026-02-02', ResultSize: 0 })).toMatch(/The 0 argument is less than the minimum allowed range of 1/);
    expect(fail({ StartDate: '2026-02-01', EndDate: '2026-02-02', RecordType: 'Nope' })).toMatch(/AuditRecordType/);
  });
});

describe('audit windows', () => {
  it('are adjacent index ranges: [a,b) and [b,c) split [a,c) exactly', () => {
    const { audit } = dataset(37);
    const random = createRandom(11);
    for (let i = 0; i < 300; i++) {
      const [a, b, c] = [0, 1, 2].map(() => AUDIT_EPOCH_MS + Math.floor(random.next() * 48 * HOUR)).sort((x, y) => x - y) as [number, number, number];
      if (a === b || b === c) continue;
      const window = (start: number, end: number) =>
        auditWindow(
          audit,
          new Map([
            ['StartDate', start],
            ['EndDate', end],
          ]),
          NOW,
        );
      const left = window(a, b);
      const right = window(b, c);
      const whole = window(a, c);
      expect(left.to).toBe(right.from);
      expect(left.from).toBe(whole.from);
      expect(right.to).toBe(whole.to);
      // Instants increase with the index, so checking the edges checks every record.
      const time = (index: number): number => audit.timeline.timeOf(index);
      if (whole.from > 0) expect(time(whole.from - 1)).toBeLessThan(a);
      expect(time(whole.from)).toBeGreaterThanOrEqual(a);
      expect(time(left.to)).toBeGreaterThanOrEqual(b);
      if (left.to > 0) expect(time(left.to - 1)).toBeLessThan(b);
      expect(time(whole.to)).toBeGreaterThanOrEqual(c);
      if (whole.to > 0) expect(time(whole.to - 1)).toBeLessThan(c);
    }
  });

  it('end at the simulator clock: nothing after now exists', () => {
    const { audit } = dataset(20);
    const now = AUDIT_EPOCH_MS + 2 * HOUR + 1;
    const window = auditWindow(
      audit,
      new Map([
        ['StartDate', AUDIT_EPOCH_MS],
        ['EndDate', AUDIT_EPOCH_MS + 10 * HOUR],
      ]),
      now,
    );
    expect(window).toEqual({ from: 0, to: audit.countAt(now) });
    expect(window.to).toBe(40 + (audit.timeline.timeOf(40) < now ? 1 : 0));
  });

  it('refuse an end that is not after the start', () => {
    const { audit } = dataset();
    expect(() =>
      auditWindow(
        audit,
        new Map([
          ['StartDate', 5],
          ['EndDate', 5],
        ]),
        NOW,
      ),
    ).toThrow(/StartDate value must be earlier than the EndDate/);
  });
});

describe('audit records', () => {
  it('are deterministic and consistent between the record and its AuditData', () => {
    const one = dataset().audit;
    const two = dataset().audit;
    for (let index = 0; index < 200; index++) {
      const record = one.unifiedRecord(index, false);
      expect(two.unifiedRecord(index, false)).toEqual(record);
      const data = JSON.parse(String(record.head['AuditData'])) as Record<string, unknown>;
      expect(data['Id']).toBe(record.tail['Identity']);
      expect(data['Operation']).toBe(record.head['Operations']);
      expect(data['UserId']).toBe(record.head['UserIds']);
      expect(String(record.head['CreationDate']).slice(0, 19)).toBe(data['CreationTime']);
    }
    expect(AUDIT_OPERATIONS.reduce((sum, op) => sum + op.weight, 0)).toBe(100);
  });

  it('resolve UserIds to actors, including the admin and Microsoft datacenter admins', () => {
    const { audit } = dataset();
    expect(audit.resolveActor('ADMIN@contoso.onmicrosoft.com')).toBe(ADMIN_ACTOR);
    expect(audit.resolveActor(SYSTEM_CALLER)).toBe(-2);
    expect(audit.resolveActor(audit.actorUpn(5))).toBe(5);
    expect(audit.resolveActor('nobody@contoso.onmicrosoft.com')).toBeUndefined();
  });
});

describe('Search-UnifiedAuditLog sessions', () => {
  const query = { StartDate: '2026-01-01T00:00:00Z', EndDate: '2026-01-01T02:00:00Z' };

  function call(sessions: ReturnType<typeof createAuditSessionStore>, parameters: Record<string, unknown>, continuation = false) {
    const ds = dataset(3600);
    const bound = bindParameters(searchUnifiedAuditLog, parameters);
    const source = searchUnifiedAuditLog.run(ds, bound, context({ auditSessions: sessions, continuation }));
    const window = takeWindow(source, { from: source.startPosition?.() ?? 0, emitted: 0, pageSize: 5000, limit: resultLimit(searchUnifiedAuditLog, bound) });
    return window.rows.map((row) => row.object);
  }

  it('ReturnLargeSet hands out up to 50,000 in order; ReturnNextPreviewPage stops at 5,000', () => {
    const sessions = createAuditSessionStore({ ttlMs: 60_000 });
    const large = { ...query, SessionId: 'a', SessionCommand: 'ReturnLargeSet', ResultSize: 5000 };
    const sizes = [call(sessions, large), call(sessions, large), call(sessions, large)].map((rows) => rows.length);
    expect(sizes).toEqual([5000, 2200, 0]);
    const preview = { ...query, SessionId: 'b', SessionCommand: 'ReturnNextPreviewPage', ResultSize: 3000 };
    const first = call(sessions, preview);
    const second = call(sessions, preview);
    expect([first.length, second.length, call(sessions, preview).length]).toEqual([3000, 2000, 0]);
    expect(second[0]?.['ResultIndex']).toBe(3001);
    expect(first[0]?.['ResultCount']).toBe(5000);
  });

  it('restarts when the query changes, and nextLink pages repeat the last call’s range', () => {
    const sessions = createAuditSessionStore({ ttlMs: 60_000 });
    const parameters = { ...query, SessionId: 's', SessionCommand: 'ReturnLargeSet', ResultSize: 10 };
    const first = call(sessions, parameters);
    const again = call(sessions, parameters, true);
    expect(again).toEqual(first);
    const changed = call(sessions, { ...parameters, Operations: ['MailboxLogin'] });
    expect(changed[0]?.['ResultIndex']).toBe(1);
  });

  it('session state expires', () => {
    let now = 0;
    const sessions = createAuditSessionStore({ ttlMs: 100, now: () => now });
    sessions.set('k', { queryKey: 'q', next: 5, returned: 5, last: { start: 0, end: 5 } });
    expect(sessions.get('k')?.next).toBe(5);
    now = 100;
    expect(sessions.get('k')).toBeUndefined();
  });

  it('TenantData treats every SessionId call as a fresh session', () => {
    const ds = dataset(60);
    const data = createTenantData(ds, createCmdletRegistry(), () => NOW);
    const parameters = { ...query, SessionId: 'x', SessionCommand: 'ReturnLargeSet', ResultSize: 10 };
    expect([...data.results('Search-UnifiedAuditLog', parameters)]).toEqual([...data.results('Search-UnifiedAuditLog', parameters)]);
  });
});

describe('Search-AdminAuditLog', () => {
  it('skips StartIndex matches and defaults to 1000 results', () => {
    const ds = dataset(200);
    const data = createTenantData(ds, createCmdletRegistry(), () => NOW);
    const all = [...data.results('Search-AdminAuditLog', { StartDate: '2026-01-01', EndDate: '2026-01-02', ResultSize: 250_000 })];
    expect(all.length).toBeGreaterThan(400);
    expect([...data.results('Search-AdminAuditLog', { StartDate: '2026-01-01', EndDate: '2026-01-02', StartIndex: 400 })]).toEqual(all.slice(400, 1400));
    expect(resultLimit(searchAdminAuditLog, new Map())).toEqual({ max: 1000, isDefault: false });
    expect(all.every((entry) => entry['CmdletName'] !== undefined && Array.isArray(entry['CmdletParameters']))).toBe(true);
    const external = [...data.results('Search-AdminAuditLog', { StartDate: '2026-01-01', EndDate: '2026-01-02', ExternalAccess: true })];
    expect(external.every((entry) => entry['Caller'] === SYSTEM_CALLER && entry['ExternalAccess'] === true)).toBe(true);
  });
});
