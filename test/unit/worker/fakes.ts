import { AppError } from '../../../src/core/errors.js';
import type { RunPlan, RunStep } from '../../../src/core/run-plan.js';
import type {
  CmdletPage,
  CmdletRequest,
  CommittedOutput,
  ExchangeClient,
  HoldOptions,
  InvokeOptions,
  ItemOutcome,
  Lease,
  LeaseKey,
  OutputStore,
  RunDescriptor,
  RunOutput,
  RunSlots,
  ServiceName,
  SlotHold,
} from '../../../src/core/ports.js';

/** A lease whose gate, release answer and loss each test controls. */
export interface FakeLease extends Lease {
  /** What release() answers: still held, or lost meanwhile. */
  stillHeld: boolean;
  released: boolean;
  admits: number;
  throttles: number[];
  /** Called on every admit; may throw (a cool-down too long, a lost lease). */
  onAdmit: () => void;
  lose(): void;
}

export function fakeLease(key: LeaseKey, holderId: string): FakeLease {
  const controller = new AbortController();
  const lease: FakeLease = {
    key,
    holderId,
    signal: controller.signal,
    stillHeld: true,
    released: false,
    admits: 0,
    throttles: [],
    onAdmit: () => undefined,
    async admit(options) {
      lease.admits += 1;
      if (options.signal?.aborted) throw options.signal.reason;
      if (controller.signal.aborted) throw controller.signal.reason;
      lease.onAdmit();
    },
    throttled(waitMs) {
      lease.throttles.push(waitMs);
    },
    async release() {
      lease.released = true;
      return lease.stillHeld && !controller.signal.aborted;
    },
    lose: () => controller.abort(new AppError('LIMIT_LEASE_LOST', `lost ${holderId}`)),
  };
  return lease;
}

/** Run slots that grant at once (extras as scripted) and record what happened, in order. */
export class FakeSlots implements RunSlots {
  current: FakeLease | undefined;
  events: string[] = [];
  leases: FakeLease[] = [];
  /** Answers of tryExtra, in order; false when empty. */
  extraAnswers: boolean[] = [];
  private count = 0;

  constructor(readonly tenant = 'contoso.onmicrosoft.com') {}

  /** The first step's slot, as the adapter holds it before the run starts. */
  holdNow(service: ServiceName): FakeLease {
    this.current = this.lease(service);
    return this.current;
  }

  async holdFor(service: ServiceName, options: HoldOptions): Promise<SlotHold> {
    this.events.push(`hold ${service} maxWaitMs=${options.maxWaitMs}`);
    if (this.current && this.current.key.service === service) return { held: true, lease: this.current };
    if (this.current) await this.release(this.current);
    this.current = this.lease(service);
    return { held: true, lease: this.current };
  }

  async tryExtra(): Promise<Lease | undefined> {
    if (!this.current || this.extraAnswers.length === 0 || this.extraAnswers.shift() !== true) return undefined;
    const lease = this.lease(this.current.key.service, '-extra');
    this.events.push(`extra ${lease.holderId}`);
    return lease;
  }

  async release(lease: Lease): Promise<boolean> {
    this.events.push(`release ${lease.holderId}`);
    if (this.current === lease) this.current = undefined;
    return lease.release();
  }

  async releaseAll(): Promise<boolean> {
    const held = this.leases.filter((lease) => !lease.released);
    const results = await Promise.all(held.map((lease) => this.release(lease)));
    return results.every(Boolean);
  }

  private lease(service: ServiceName, kind = ''): FakeLease {
    this.count += 1;
    const lease = fakeLease({ tenant: this.tenant, service }, `slot-${service}${kind}-${this.count}`);
    this.leases.push(lease);
    return lease;
  }
}

export function page(objects: Record<string, unknown>[], index = 0, last = true, extra: Partial<CmdletPage> = {}): CmdletPage {
  return { index, objects, warnings: [], errors: [], requestId: `r-${index}`, clientRequestId: `c-${index}`, last, ...extra };
}

/** What the fake exchange client answers a request with: pages, an error after some pages, or a wait until aborted. */
export type Script = { pages: CmdletPage[]; error?: AppError } | 'hang';

/**
 * An exchange client scripted per request: it admits each page through the gate (as the real one
 * does) and records requests and the most requests in flight at once.
 */
export class FakeExchange implements ExchangeClient {
  requests: CmdletRequest[] = [];
  inFlight = 0;
  peakInFlight = 0;
  /** Delay before each page, so lanes overlap (ms). */
  pageDelayMs = 0;

  constructor(private readonly script: (request: CmdletRequest) => Script) {}

  async *invoke(request: CmdletRequest, options: InvokeOptions = {}): AsyncIterable<CmdletPage> {
    this.requests.push(request);
    const answer = this.script(request);
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      if (answer === 'hang') {
        // Waits until aborted, like a request the service never answers.
        const signal = options.signal ?? new AbortController().signal;
        await new Promise((_, reject) => {
          const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          if (signal.aborted) fail();
          signal.addEventListener('abort', fail, { once: true });
        });
        return;
      }
      for (const each of answer.pages) {
        await options.gate?.admit({ maxWaitMs: 30_000, ...(options.signal ? { signal: options.signal } : {}) });
        if (this.pageDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.pageDelayMs));
        if (options.signal?.aborted) throw options.signal.reason;
        yield each;
      }
      if (answer.error) {
        await options.gate?.admit({ maxWaitMs: 30_000 });
        throw answer.error;
      }
    } finally {
      this.inFlight -= 1;
    }
  }
}

/** One output set of the fake store. */
export interface FakeOutput {
  run: RunDescriptor;
  objects: Record<string, unknown>[];
  pages: number;
  items: ItemOutcome[];
  state: 'open' | 'committed' | 'failed' | 'abandoned';
  failure?: { code: string; message: string };
}

/** An in-memory output store: committed sets can be read back, as a later forEach does. */
export class FakeStore implements OutputStore {
  readonly root = '/outputs';
  outputs: FakeOutput[] = [];
  private readonly committed = new Map<string, FakeOutput>();

  async begin(run: RunDescriptor): Promise<RunOutput> {
    const output: FakeOutput = { run, objects: [], pages: 0, items: [], state: 'open' };
    this.outputs.push(output);
    const committedSets = this.committed;
    const name = `${run.job}/${run.localDate}/${run.runId}${run.step === undefined ? '' : `.${run.step}`}`;
    return {
      async writePage(written) {
        if (output.state !== 'open') throw new Error(`write to a ${output.state} output`);
        output.objects.push(...written.objects);
        output.pages += 1;
      },
      recordItem(outcome) {
        output.items.push(outcome);
      },
      async commit(): Promise<CommittedOutput> {
        output.state = 'committed';
        committedSets.set(`${name}.manifest.json`, output);
        const failed = output.items.filter((item) => !item.ok).length;
        return {
          manifestPath: `${name}.manifest.json`,
          files: run.formats.map((format) => ({ format, path: `${name}.${format}`, objects: output.objects.length })),
          objectCount: output.objects.length,
          pageCount: output.pages,
          warningCount: 0,
          ...(output.items.length === 0 ? {} : { items: { total: output.items.length, succeeded: output.items.length - failed, failed } }),
        };
      },
      async fail(failure) {
        output.state = 'failed';
        output.failure = failure;
        return { manifestPath: `${name}.manifest.json` };
      },
      async abandon() {
        output.state = 'abandoned';
      },
    };
  }

  async *readObjects(committed: CommittedOutput): AsyncIterableIterator<Record<string, unknown>> {
    const output = this.committed.get(committed.manifestPath);
    if (!output) throw new AppError('STORE_READ_FAILED', 'no such output');
    for (const object of output.objects) yield object;
  }
}

/** One step of a run plan (Get-Mailbox to JSONL unless overridden). */
export function makeStep(name: string, overrides: Partial<RunStep> = {}): RunStep {
  return { name, service: 'exo', cmdlet: 'Get-Mailbox', parameters: {}, formats: ['jsonl'], pageSize: 1000, ...overrides };
}

/** A planned run of job `job` for tenant `contoso` with these steps. */
export function makePlan(steps: RunStep[], definition: Partial<RunPlan['definition']> = {}, extra: Partial<RunPlan> = {}): RunPlan {
  return {
    v: 2,
    runId: 'job.contoso.20261202T120000Z',
    job: 'job',
    tenant: 'contoso',
    trigger: 'manual',
    requestedAt: '2026-12-02T12:00:00.000Z',
    definitionHash: 'h',
    definition: {
      steps,
      namedSteps: steps.length > 1,
      timeoutMs: 60_000,
      timezone: 'Europe/Berlin',
      allowWrite: false,
      maxItemFailures: { count: 0 },
      overlap: 'allow',
      retry: { attempts: 3, backoffMs: 10_000 },
      ...definition,
    },
    ...extra,
  };
}
