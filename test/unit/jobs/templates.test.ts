import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import { parseTemplate } from '../../../src/core/template-syntax.js';
import { resolveParameters, type TemplateContext } from '../../../src/jobs/templates.js';
import { computeWindow, itemFailuresExceeded } from '../../../src/jobs/window.js';

const context: TemplateContext = {
  job: 'audit',
  runId: 'audit.contoso.20261122T020000Z',
  tenant: { name: 'contoso', organization: 'contoso.onmicrosoft.com' },
  nowMs: Date.parse('2026-11-22T02:00:00Z'),
  window: { startMs: Date.parse('2026-11-21T02:00:00Z'), endMs: Date.parse('2026-11-22T02:00:00Z') },
  item: { PrimarySmtpAddress: 'ann@contoso.com', Size: 12, Emails: ['a@x', 'b@x'], Owner: { Name: 'Bo' } },
};

describe('templates', () => {
  it('resolves names, date arithmetic and formats', () => {
    expect(
      resolveParameters(
        {
          Identity: '${item.PrimarySmtpAddress}',
          Note: 'run ${run.id} of ${job.name} for ${tenant.organization}',
          StartDate: '${now - 1d}',
          EndDate: '${now + 90m}',
          Day: '${window.start | date}',
          From: '${window.start}',
          Owner: '${item.Owner.Name}',
          Literal: 'costs $${price}',
        },
        context,
      ),
    ).toEqual({
      Identity: 'ann@contoso.com',
      Note: 'run audit.contoso.20261122T020000Z of audit for contoso.onmicrosoft.com',
      StartDate: '2026-11-21T02:00:00.000Z',
      EndDate: '2026-11-22T03:30:00.000Z',
      Day: '2026-11-21',
      From: '2026-11-21T02:00:00.000Z',
      Owner: 'Bo',
      Literal: 'costs ${price}',
    });
  });

  it('keeps the type of a value that is one whole expression, and searches lists', () => {
    expect(resolveParameters({ Count: '${item.Size}', Emails: '${item.Emails}', List: ['${item.Size}', 'x'] }, context)).toEqual({
      Count: 12,
      Emails: ['a@x', 'b@x'],
      List: [12, 'x'],
    });
  });

  it('fails an item that lacks the property with RUN_TEMPLATE_FAILED naming it', () => {
    let caught: unknown;
    try {
      resolveParameters({ Identity: '${item.Alias}' }, context);
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.code).toBe('RUN_TEMPLATE_FAILED');
    expect((caught as Error).message).toMatch(/Identity: '\$\{item\.Alias\}' has no value: the item has no Alias/);
    expect(() => resolveParameters({ Id: '${tenant.tenantId}' }, context)).toThrow(/tenant contoso has no tenantId/);
  });

  it('rejects unknown names, units and misplaced arithmetic when parsing', () => {
    const message = (text: string): string => {
      const parsed = parseTemplate(text);
      return parsed.ok ? 'ok' : parsed.message;
    };
    expect(message('${itme.Alias}')).toMatch(/^unknown name 'itme.Alias' in '\$\{itme.Alias\}' \(known: item.<Property>/);
    expect(message('${now - 3y}')).toBe("unknown unit 'y' in '${now - 3y}' (use s, m, h, d or w)");
    expect(message('${run.id + 1d}')).toMatch(/only now, window.start and window.end can be shifted/);
    expect(message('${now | yyyy}')).toMatch(/unknown format 'yyyy'/);
    expect(message('${now')).toMatch(/is not closed/);
    expect(message('plain text')).toBe('ok');
  });
});

describe('windows', () => {
  const hour = 3_600_000;
  it('starts the first run initialWindow back and later runs where the last success ended', () => {
    expect(computeWindow({ lastEndMs: undefined, initialWindowMs: 24 * hour, endMs: 48 * hour })).toEqual({ startMs: 24 * hour, endMs: 48 * hour });
    expect(computeWindow({ lastEndMs: 40 * hour, initialWindowMs: 24 * hour, endMs: 48 * hour })).toEqual({ startMs: 40 * hour, endMs: 48 * hour });
  });

  it('refuses an empty window with RUN_WINDOW_EMPTY', () => {
    expect(() => computeWindow({ lastEndMs: 48 * hour, initialWindowMs: hour, endMs: 48 * hour })).toThrow(/nothing new to read/);
  });

  it('applies maxItemFailures as a count or a share', () => {
    expect(itemFailuresExceeded({ count: 0 }, 0, 10)).toBe(false);
    expect(itemFailuresExceeded({ count: 0 }, 1, 10)).toBe(true);
    expect(itemFailuresExceeded({ count: 2 }, 2, 10)).toBe(false);
    expect(itemFailuresExceeded({ percent: 5 }, 5, 100)).toBe(false);
    expect(itemFailuresExceeded({ percent: 5 }, 6, 100)).toBe(true);
  });
});
