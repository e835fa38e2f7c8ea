import { describe, expect, it } from 'vitest';
import type { TenantConfig } from '../../../src/config/model.js';
import { AppError } from '../../../src/core/errors.js';
import { createSilentLogger } from '../../../src/core/logger.js';
import type { CmdletRequest, ServiceName } from '../../../src/core/ports.js';
import type { RunPlan, RunStep } from '../../../src/core/run-plan.js';
import { executeRun, type RunAttempt, type RunPorts, type RunProgress, type WindowStore } from '../../../src/worker/run/index.js';
import { FakeExchange, FakeSlots, FakeStore, makePlan, makeStep, page, type Script } from './fakes.js';

const tenant: TenantConfig = {
  name: 'contoso',
  organization: 'contoso.onmicrosoft.com',
  tenantId: '6f1c2d3e-0000-4000-8000-0000000000e0',
  cloud: 'commercial',
  limits: { exo: 3, ipps: 3 },
};

const step = makeStep;
const plan = (steps: RunStep[], definition: Partial<RunPlan['definition']> = {}): RunPlan => makePlan(steps, definition);

interface Setup {
  attempt: RunAttempt;
  ports: RunPorts;
  slots: FakeSlots;
  store: FakeStore;
  exchange: FakeExchange;
  progress: RunProgress[];
}

function setup(
  runPlan: RunPlan,
  script: (request: CmdletRequest) => Script,
  options: { final?: boolean; windows?: WindowStore; shutdown?: AbortSignal } = {},
): Setup {
  const slots = new FakeSlots();
  slots.holdNow(runPlan.definition.steps[0]!.service);
  const store = new FakeStore();
  const exchange = new FakeExchange(script);
  const progress: RunProgress[] = [];
  return {
    slots,
    store,
    exchange,
    progress,
    attempt: { plan: runPlan, tenant, attempt: 1, attemptId: 'a1', outputRoot: '/outputs', failureIsFinal: () => options.final ?? false },
    ports: {
      exchange,
      slots,
      store,
      logger: createSilentLogger(),
      progress: (report) => void progress.push(report),
      ...(options.windows ? { windows: options.windows } : {}),
      ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    },
  };
}

const mailboxes = (count: number): Record<string, unknown>[] => Array.from({ length: count }, (_, i) => ({ Identity: `user${i}@contoso.com` }));

describe('executeRun: a plain step', () => {
  it('streams every page into the step’s output, commits it, and sums up the run', async () => {
    const { attempt, ports, store, progress, exchange } = setup(plan([step('Get-Mailbox', { select: ['Identity'], pageSize: 2 })]), () => ({
      pages: [page(mailboxes(2), 0, false), page(mailboxes(1), 1, true)],
    }));
    const summary = await executeRun(attempt, ports);
    expect(summary).toMatchObject({ status: 'succeeded', objectCount: 3, pageCount: 2, steps: [{ name: 'Get-Mailbox', objects: 3 }] });
    expect(store.outputs).toHaveLength(1);
    expect(store.outputs[0]).toMatchObject({ state: 'committed', run: { localDate: '2026-12-02', attempt: 1, attemptId: 'a1', select: ['Identity'] } });
    expect(exchange.requests[0]).toMatchObject({ tenant: tenant.tenantId, service: 'exo', cmdlet: 'Get-Mailbox', pageSize: 2, select: ['Identity'] });
    expect(progress.at(-1)).toEqual({ state: 'running', step: 'Get-Mailbox', pages: 2, objects: 3 });
  });

  it('gives the last step’s slot back when the last page is in, before writing it and committing (the fencing check)', async () => {
    const { attempt, ports, slots, store } = setup(plan([step('s')]), () => ({ pages: [page([{ a: 1 }], 0, false), page([{ a: 2 }], 1, true)] }));
    let stateAtRelease: string | undefined;
    const lease = slots.current!;
    const release = lease.release.bind(lease);
    lease.release = async () => {
      stateAtRelease = `${store.outputs[0]!.state}:${store.outputs[0]!.objects.length}`;
      return release();
    };
    await executeRun(attempt, ports);
    expect(stateAtRelease).toBe('open:1');
    expect(lease.released).toBe(true);
  });

  it('commits nothing when the slot turns out to have been lost at the fencing check', async () => {
    const { attempt, ports, slots, store } = setup(plan([step('s')]), () => ({ pages: [page([{ a: 1 }])] }));
    slots.current!.stillHeld = false;
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(store.outputs[0]!.state).toBe('abandoned');
  });

  it('stops at once when the slot is lost mid-run and reports the loss, whatever error it caused', async () => {
    const { attempt, ports, slots, store, exchange } = setup(plan([step('s')]), () => ({
      pages: [page([{ a: 1 }], 0, false), page([{ a: 2 }], 1, false), page([{ a: 3 }], 2, true)],
    }));
    let admitted = 0;
    slots.current!.onAdmit = () => {
      admitted += 1;
      if (admitted === 2) slots.current!.lose();
    };
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(store.outputs[0]!.state).toBe('abandoned');
    expect(exchange.requests).toHaveLength(1);
  });

  it('fails the open output set (a failure manifest) when the failure is final, abandons it otherwise', async () => {
    const error = new AppError('EXO_BAD_REQUEST', 'bad parameter');
    const final = setup(plan([step('s')]), () => ({ pages: [], error }), { final: true });
    await expect(executeRun(final.attempt, final.ports)).rejects.toBe(error);
    expect(final.store.outputs[0]).toMatchObject({ state: 'failed', failure: { code: 'EXO_BAD_REQUEST', message: 'bad parameter' } });

    const retried = setup(plan([step('s')]), () => ({ pages: [page([{ a: 1 }], 0, false)], error: new AppError('EXO_UNAVAILABLE', 'gone') }));
    await expect(executeRun(retried.attempt, retried.ports)).rejects.toMatchObject({ code: 'EXO_UNAVAILABLE' });
    expect(retried.store.outputs[0]!.state).toBe('abandoned');
  });

  it('hands a cool-down longer than it may wait back as EXO_THROTTLED with the wait, and abandons the output', async () => {
    const { attempt, ports, slots, store } = setup(plan([step('s')]), () => ({ pages: [page([{ a: 1 }])] }));
    slots.current!.onAdmit = () => {
      throw new AppError('EXO_THROTTLED', 'cooling down', { retryAfterMs: 120_000 });
    };
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'EXO_THROTTLED', retryAfterMs: 120_000 });
    expect(store.outputs[0]!.state).toBe('abandoned');
  });
});

describe('executeRun: time limits and shutdown', () => {
  it('stops a run that exceeds its timeout with RUN_TIMEOUT', async () => {
    const { attempt, ports, store } = setup(plan([step('s')], { timeoutMs: 50 }), () => 'hang');
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'RUN_TIMEOUT', message: expect.stringContaining('timeout') });
    expect(store.outputs[0]!.state).toBe('abandoned');
  });

  it('stops a run when the worker shuts down with RUN_ABORTED (it goes back to the queue)', async () => {
    const shutdown = new AbortController();
    const { attempt, ports } = setup(plan([step('s')]), () => 'hang', { shutdown: shutdown.signal });
    const running = executeRun(attempt, ports);
    setTimeout(() => shutdown.abort(new Error('shutdown')), 20);
    await expect(running).rejects.toMatchObject({ code: 'RUN_ABORTED' });
  });
});

describe('executeRun: steps', () => {
  it('swaps the slot for a step of another service and keeps it for the same service', async () => {
    const steps = [
      step('mailboxes'),
      step('policies', { service: 'ipps', cmdlet: 'Get-RetentionCompliancePolicy' }),
      step('more', { service: 'ipps', cmdlet: 'Get-DlpCompliancePolicy' }),
    ];
    const { attempt, ports, slots, exchange } = setup(plan(steps), () => ({ pages: [page([{ a: 1 }])] }));
    const summary = await executeRun(attempt, ports);
    expect(summary.steps.map((each) => each.name)).toEqual(['mailboxes', 'policies', 'more']);
    expect(exchange.requests.map((request) => request.service)).toEqual<ServiceName[]>(['exo', 'ipps', 'ipps']);
    expect(slots.events.filter((event) => event.startsWith('hold'))).toEqual([
      'hold exo maxWaitMs=Infinity',
      'hold ipps maxWaitMs=Infinity',
      'hold ipps maxWaitMs=Infinity',
    ]);
    // The exo slot went back before the ipps one was asked for; the last one after the last page.
    expect(slots.events.filter((event) => event.startsWith('release'))).toEqual(['release slot-exo-1', 'release slot-ipps-2']);
  });

  it('resolves templates per run and reads a window, moving it on only after success', async () => {
    const advanced: [number | undefined, number][] = [];
    const windows: WindowStore = {
      lastEnd: async () => Date.parse('2026-12-02T11:00:00Z'),
      advance: async (_job, _tenant, from, to) => {
        advanced.push([from, to]);
        return true;
      },
    };
    const windowed = step('audit', { cmdlet: 'Search-UnifiedAuditLog', parameters: { StartDate: '${window.start}', EndDate: '${window.end}' } });
    const { attempt, ports, exchange } = setup(plan([windowed], { initialWindowMs: 3_600_000 }), () => ({ pages: [page([])] }), { windows });
    const summary = await executeRun(attempt, ports);
    expect(exchange.requests[0]!.parameters).toEqual({ StartDate: '2026-12-02T11:00:00.000Z', EndDate: '2026-12-02T12:00:00.000Z' });
    expect(summary.window).toEqual({ start: '2026-12-02T11:00:00.000Z', end: '2026-12-02T12:00:00.000Z' });
    expect(advanced).toEqual([[Date.parse('2026-12-02T11:00:00Z'), Date.parse('2026-12-02T12:00:00Z')]]);

    const failing = setup(plan([windowed], { initialWindowMs: 3_600_000 }), () => ({ pages: [], error: new AppError('EXO_UNAVAILABLE', 'x') }), { windows });
    await expect(executeRun(failing.attempt, failing.ports)).rejects.toMatchObject({ code: 'EXO_UNAVAILABLE' });
    expect(advanced).toHaveLength(1);
  });
});

describe('executeRun: forEach', () => {
  const forEachPlan = (maxItemFailures: RunPlan['definition']['maxItemFailures'] = { count: 0 }): RunPlan =>
    plan([step('mailboxes'), step('permissions', { cmdlet: 'Get-MailboxPermission', forEach: 'mailboxes', parameters: { Identity: '${item.Identity}' } })], {
      maxItemFailures,
    });

  it('runs the cmdlet once per object of the earlier step, in parallel lanes on extra slots, and gives the extras back', async () => {
    const { attempt, ports, slots, store, exchange } = setup(forEachPlan(), (request) =>
      request.cmdlet === 'Get-Mailbox' ? { pages: [page(mailboxes(12))] } : { pages: [page([{ User: 'SELF', Identity: request.parameters['Identity'] }])] },
    );
    exchange.pageDelayMs = 5;
    slots.extraAnswers = [true, true, false];
    const summary = await executeRun(attempt, ports);
    expect(summary.steps).toEqual([
      { name: 'mailboxes', objects: 12 },
      { name: 'permissions', objects: 12 },
    ]);
    const permissions = store.outputs[1]!;
    expect(permissions.objects.map((object) => object['Identity']).sort()).toEqual(
      mailboxes(12)
        .map((object) => object['Identity'])
        .sort(),
    );
    expect(permissions.items.every((item) => item.ok)).toBe(true);
    // The run's own slot plus two extras: three lanes at most, never more.
    expect(exchange.peakInFlight).toBe(3);
    const extras = slots.leases.filter((lease) => lease.holderId.includes('-extra-'));
    expect(extras).toHaveLength(2);
    expect(extras.every((lease) => lease.released)).toBe(true);
  });

  it('counts an item that fails with a per-object error, lists it, and goes on within maxItemFailures', async () => {
    const { attempt, ports, store } = setup(forEachPlan({ count: 1 }), (request) =>
      request.cmdlet === 'Get-Mailbox'
        ? { pages: [page(mailboxes(3))] }
        : request.parameters['Identity'] === 'user1@contoso.com'
          ? { pages: [], error: new AppError('EXO_NOT_FOUND', 'gone') }
          : { pages: [page([{ ok: request.parameters['Identity'] }])] },
    );
    const summary = await executeRun(attempt, ports);
    expect(summary.itemFailures).toBe(1);
    expect(store.outputs[1]!.items).toContainEqual({ ok: false, item: 'user1@contoso.com', code: 'EXO_NOT_FOUND', message: 'gone' });
    expect(store.outputs[1]!.objects).toHaveLength(2);
  });

  it('fails the run when more items fail than maxItemFailures allows', async () => {
    const { attempt, ports } = setup(forEachPlan({ percent: 10 }), (request) =>
      request.cmdlet === 'Get-Mailbox' ? { pages: [page(mailboxes(4))] } : { pages: [], error: new AppError('EXO_NOT_FOUND', 'gone') },
    );
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'RUN_ITEM_FAILURES', details: { failed: 4, total: 4 } });
  });

  it('stops the whole step on an error that every item would meet (not an item failure)', async () => {
    const { attempt, ports, store, exchange } = setup(forEachPlan({ count: 100 }), (request) =>
      request.cmdlet === 'Get-Mailbox' ? { pages: [page(mailboxes(50))] } : { pages: [], error: new AppError('EXO_CMDLET_UNKNOWN', 'no such cmdlet') },
    );
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'EXO_CMDLET_UNKNOWN' });
    expect(store.outputs[1]!.state).toBe('abandoned');
    // It stopped early: not one request per item.
    expect(exchange.requests.length).toBeLessThan(10);
  });

  it('reports a lost extra slot as the loss of the run', async () => {
    const { attempt, ports, slots } = setup(forEachPlan(), (request) =>
      request.cmdlet === 'Get-Mailbox' ? { pages: [page(mailboxes(6))] } : { pages: [page([{ a: 1 }])] },
    );
    slots.extraAnswers = [true];
    const tryExtra = slots.tryExtra.bind(slots);
    slots.tryExtra = async () => {
      const lease = await tryExtra();
      if (lease) (lease as ReturnType<typeof slots.holdNow>).stillHeld = false;
      return lease;
    };
    await expect(executeRun(attempt, ports)).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
  });
});
