import { AppError } from '../core/index.js';
import type { LeaseKey } from '../core/index.js';
import { resumeAfterMs } from '../core/index.js';
import type { MonotonicClock } from './clock.js';
import type { CoolDownBoard } from './cool-downs.js';

/** What the gate needs to know about the slot it guards. */
export interface GuardedSlot {
  readonly key: LeaseKey;
  /** The key as the cool-down board names it. */
  readonly member: string;
  /** Aborted (with LIMIT_LEASE_LOST) once the slot is lost. */
  readonly signal: AbortSignal;
  /** Monotonic time until which the slot is surely held: its last confirmation plus the lease TTL. */
  validUntilMs(): number;
  /** Called when a request finds the validity over: the slot must be treated as lost from now on. */
  expire(): void;
}

export interface AdmitInput {
  slot: GuardedSlot;
  board: CoolDownBoard;
  clock: MonotonicClock;
  maxWaitMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * The request gate's decision, made from what this process knows (no Redis round trip): resolves
 * when a request may leave — the slot is surely still held and no cool-down of its key is running.
 * A cool-down up to `maxWaitMs` is waited out plus the retry policy's resume spread, so requests that
 * waited for the same deadline leave one by one, each never before its own share of the spread;
 * news of a longer cool-down during the wait extends it (and draws the share again). Rejects with LIMIT_LEASE_LOST, EXO_THROTTLED (`retryAfterMs`: the cool-down left) or the
 * signal's reason.
 */
export async function admitRequest(input: AdmitInput): Promise<void> {
  const { slot, board, clock, signal } = input;
  /** When this request leaves: the deadline plus its share of the spread, drawn once per deadline. */
  let resumeAtMs: number | undefined;
  for (;;) {
    throwIfAborted(slot.signal);
    throwIfAborted(signal);
    const now = clock.now();
    if (now >= slot.validUntilMs()) {
      slot.expire();
      throwIfAborted(slot.signal);
    }
    const coolingMs = board.remainingMs(slot.member);
    if (coolingMs <= 0 && (resumeAtMs === undefined || now >= resumeAtMs)) return;
    if (coolingMs > input.maxWaitMs) {
      throw new AppError(
        'EXO_THROTTLED',
        `${slot.key.tenant} (${slot.key.service}) is cooling down for ${Math.ceil(coolingMs / 1000)} s after throttling; the run waits in the queue.`,
        { retryAfterMs: coolingMs, details: { tenant: slot.key.tenant, service: slot.key.service } },
      );
    }
    // Planned from a clock read after the remaining wait was: reading it before would plan the
    // moment early by however long the board's own clock read came later.
    resumeAtMs ??= clock.now() + resumeAfterMs(coolingMs);
    // Sleeps until then; a longer cool-down announced meanwhile wakes it to plan again. Timers may
    // fire a little early (they run on the event loop's cached clock): the loop sleeps out the rest.
    if ((await sleepUnlessExtended(resumeAtMs - now, board, slot, signal)) === 'extended') resumeAtMs = undefined;
  }
}

function sleepUnlessExtended(ms: number, board: CoolDownBoard, slot: GuardedSlot, signal: AbortSignal | undefined): Promise<'slept' | 'extended'> {
  return new Promise((resolve, reject) => {
    const signals = signal ? [slot.signal, signal] : [slot.signal];
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      stopListening();
      for (const each of signals) each.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = (): void => finish(() => reject(abortReason(signals.find((each) => each.aborted))));
    const timer = setTimeout(() => finish(() => resolve('slept')), ms);
    const stopListening = board.onExtended(slot.member, () => finish(() => resolve('extended')));
    for (const each of signals) each.addEventListener('abort', onAbort, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new AppError('RUN_ABORTED', 'The request was aborted before it was sent.');
}
