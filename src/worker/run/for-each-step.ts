import { AppError, toAppError } from '../../core/index.js';
import type { CmdletPage, CommittedOutput, Lease } from '../../core/index.js';
import { failsOnlyTheItem } from '../../core/index.js';
import type { RunStep } from '../../core/index.js';
import { itemFailuresExceeded, resolveParameters } from '../../jobs/index.js';
import { currentLease, invokeStep, releaseAsFence, type StepContext } from './step-context.js';

/**
 * The step's cmdlet once per object of an earlier step, read back one at a time from the store
 * (the list is never held in memory). Lanes run items in parallel, one per held slot: the run's
 * own slot plus extras taken only while they are free for nobody else. An item's pages are kept
 * until it completes and then written together, so a failed item leaves no partial records and
 * each item's records stay together. An item that fails with a per-object error is counted and
 * listed in the step's manifest; any other error stops the step (and the run). More failures than
 * maxItemFailures fail the run (RUN_ITEM_FAILURES).
 */
export async function runForEachStep(context: StepContext, step: RunStep, source: CommittedOutput, isLastStep: boolean): Promise<CommittedOutput> {
  const { ports, attempt } = context;
  const output = await context.openOutput(step, step.parameters);
  const items = ports.store.readObjects(source);
  const stop = new AbortController();
  const stepSignal = AbortSignal.any([context.signal, stop.signal]);
  let stopError: AppError | undefined;
  let itemsLeft = true;
  let total = 0;
  let failed = 0;
  let writing: Promise<void> = Promise.resolve();
  const lanes: Promise<void>[] = [];

  const halt = (error: unknown): void => {
    stopError ??= toAppError(error);
    stop.abort(stopError);
  };

  const processItem = async (item: Record<string, unknown>, index: number, lease: Lease): Promise<void> => {
    let label = `#${index + 1}`;
    try {
      const parameters = resolveParameters(step.parameters, { ...context.templates, item });
      label = itemLabel(parameters, step, index);
      const pages: CmdletPage[] = [];
      for await (const page of invokeStep(context, step, parameters, lease, stepSignal)) pages.push(page);
      // One writer at a time: a step's files take pages in order.
      const write = writing.then(async () => {
        for (const page of pages) {
          await output.writePage(page);
          context.pageWritten(step, page);
        }
      });
      writing = write.catch(() => undefined);
      await write;
      output.recordItem({ ok: true });
    } catch (error) {
      const appError = toAppError(error);
      if (stepSignal.aborted || !failsOnlyTheItem(appError)) throw appError;
      failed += 1;
      output.recordItem({ ok: false, item: label, code: appError.code, message: appError.message });
      ports.logger.warn({ step: step.name, item: label, code: appError.code }, `item failed: ${appError.message}`);
    }
  };

  const lane = async (lease: Lease, extra: boolean): Promise<void> => {
    try {
      while (!stopError) {
        const next = await items.next();
        if (next.done === true) {
          itemsLeft = false;
          return;
        }
        const index = total;
        total += 1;
        askForExtraSlot();
        await processItem(next.value, index, lease);
      }
    } catch (error) {
      halt(error);
    } finally {
      // An extra slot goes back when its lane runs out of items; the release is the last fencing
      // check of everything this lane sent.
      if (extra && !(await ports.slots.release(lease).catch(() => false)) && !stopError) {
        halt(
          new AppError(
            'LIMIT_LEASE_LOST',
            `Lost an extra ${lease.key.service} slot for ${attempt.tenant.name} during step ${step.name}; the run will be retried.`,
          ),
        );
      }
    }
  };

  // Extra slots are asked for while items remain (the slots limit how often), and only granted
  // when no other run waits for the key: a fan-out never delays another run.
  const askForExtraSlot = (): void => {
    if (!itemsLeft || stopError) return;
    lanes.push(
      ports.slots.tryExtra().then(
        async (lease) => {
          if (!lease) return;
          ports.logger.debug({ step: step.name, lanes: lanes.length }, 'extra slot for forEach');
          await lane(lease, true);
        },
        (error: unknown) => ports.logger.warn({ err: error }, 'could not ask for an extra slot; continuing with the slots held'),
      ),
    );
  };

  lanes.push(lane(currentLease(context), false));
  // Lanes are added while others run: wait until no new one appeared.
  for (let waited = 0; waited < lanes.length;) {
    const batch = lanes.slice(waited);
    waited = lanes.length;
    await Promise.all(batch);
  }
  await items.return?.(undefined);
  await writing;
  if (stopError) throw stopError;

  const limit = attempt.plan.definition.maxItemFailures;
  const limitText = 'count' in limit ? `${limit.count}` : `${limit.percent}%`;
  if (itemFailuresExceeded(limit, failed, total)) {
    throw new AppError(
      'RUN_ITEM_FAILURES',
      `${failed} of ${total} item(s) of step ${step.name} failed (maxItemFailures: ${limitText}); the step's manifest lists them.`,
      {
        details: { step: step.name, failed, total },
      },
    );
  }
  if (failed > 0) ports.logger.warn({ step: step.name, failed, total }, `some items failed, within maxItemFailures (${limitText})`);
  // As for a plain last step: the release is the fencing check before the commit.
  if (isLastStep) await releaseAsFence(context, currentLease(context));
  return output.commit();
}

/** Names a forEach item in the manifest: the value its first templated parameter got (e.g. the Identity). */
function itemLabel(parameters: Record<string, unknown>, step: RunStep, index: number): string {
  for (const [name, value] of Object.entries(step.parameters)) {
    if (typeof value === 'string' && value.includes('${item.')) {
      const resolved = parameters[name];
      return typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    }
  }
  return `#${index + 1}`;
}
