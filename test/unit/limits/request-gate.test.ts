import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../src/core/errors.js';
import type { LeaseKey } from '../../../src/core/ports.js';
import { RETRY_LIMITS } from '../../../src/core/retry-policy.js';
import { createCoolDownBoard, type CoolDownBoard } from '../../../src/limits/cool-downs.js';
import { admitRequest, type GuardedSlot } from '../../../src/limits/request-gate.js';

const key: LeaseKey = { tenant: 'contoso.onmicrosoft.com', service: 'exo' };
const member = 'contoso.onmicrosoft.com|exo';
const clock = { now: () => Date.now() };

let board: CoolDownBoard;
let slot: GuardedSlot & { lose(): void; validUntil: number; expired: number };

function makeSlot(): typeof slot {
  const controller = new AbortController();
  const made = {
    key,
    member,
    signal: controller.signal,
    validUntil: Number.POSITIVE_INFINITY,
    expired: 0,
    validUntilMs: () => made.validUntil,
    expire: () => {
      made.expired += 1;
      made.lose();
    },
    lose: () => controller.abort(new AppError('LIMIT_LEASE_LOST', 'lost')),
  };
  return made;
}

/** Settles the promise's state into an observable value without awaiting it. */
function track(promise: Promise<void>): { state: 'pending' | 'admitted' | 'rejected'; error?: unknown } {
  const tracked: { state: 'pending' | 'admitted' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'admitted'),
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  board = createCoolDownBoard(clock);
  slot = makeSlot();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('cool-down board', () => {
  it('moves a deadline only later, and tells the key’s listeners when it does', () => {
    const heard = vi.fn();
    board.onExtended(member, heard);
    expect(board.extend(member, 1_000)).toBe(true);
    expect(board.extend(member, 100)).toBe(false);
    expect(board.remainingMs(member)).toBe(1_000);
    expect(heard).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(400);
    expect(board.remainingMs(member)).toBe(600);
    expect(board.extend(member, 700)).toBe(true);
    expect(heard).toHaveBeenCalledTimes(2);
    expect(board.remainingMs('other|exo')).toBe(0);
    expect(board.extend(member, 0)).toBe(false);
  });
});

describe('request gate', () => {
  it('admits at once when the slot is held and nothing cools down', async () => {
    await expect(admitRequest({ slot, board, clock, maxWaitMs: 0 })).resolves.toBeUndefined();
  });

  it('waits out a short cool-down plus the resume spread, never leaving before the deadline', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    board.extend(member, 1_000);
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 30_000 }));
    // resumeAfterMs(1000) = 1000 + 0.5 * min(cap, 1000 * ratio)
    const spreadMs = 0.5 * Math.min(RETRY_LIMITS.resumeSpreadCapMs, 1_000 * RETRY_LIMITS.resumeSpreadRatio);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(admitted.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(spreadMs - 1);
    expect(admitted.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(admitted.state).toBe('admitted');
  });

  it('spreads requests that waited for the same deadline over the resume spread', async () => {
    const draws = [0.1, 0.9, 0.5, 0.3];
    vi.spyOn(Math, 'random').mockImplementation(() => draws.shift() ?? 0);
    board.extend(member, 2_000);
    const deadline = Date.now() + 2_000;
    const leftAt: number[] = [];
    const all = Array.from({ length: 4 }, () => admitRequest({ slot, board, clock, maxWaitMs: 30_000 }).then(() => leftAt.push(Date.now())));
    await vi.advanceTimersByTimeAsync(3_000);
    await Promise.all(all);
    const spreadMs = Math.min(RETRY_LIMITS.resumeSpreadCapMs, 2_000 * RETRY_LIMITS.resumeSpreadRatio);
    expect(leftAt).toEqual([0.1, 0.3, 0.5, 0.9].map((draw) => deadline + Math.round(draw * spreadMs)));
  });

  it('never leaves before its own share of the spread, even when its timer fires early', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    // Timers run on the event loop's cached clock, which can trail the monotonic one: here by 5 ms.
    let lagMs = 0;
    const lagging = { now: () => Date.now() - lagMs };
    const laggingBoard = createCoolDownBoard(lagging);
    laggingBoard.extend(member, 1_000);
    const plannedAt = lagging.now() + 1_000 + 0.5 * Math.min(RETRY_LIMITS.resumeSpreadCapMs, 1_000 * RETRY_LIMITS.resumeSpreadRatio);
    let admittedAt: number | undefined;
    void admitRequest({ slot, board: laggingBoard, clock: lagging, maxWaitMs: 30_000 }).then(() => (admittedAt = lagging.now()));
    lagMs = 5;
    await vi.advanceTimersByTimeAsync(1_200);
    expect(admittedAt).toBeGreaterThanOrEqual(plannedAt);
  });

  it('refuses a cool-down longer than the caller may wait, telling how long is left', async () => {
    board.extend(member, 45_000);
    vi.advanceTimersByTime(5_000);
    await expect(admitRequest({ slot, board, clock, maxWaitMs: 30_000 })).rejects.toMatchObject({ code: 'EXO_THROTTLED', retryAfterMs: 40_000 });
  });

  it('extends a wait when a longer cool-down is announced meanwhile', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    board.extend(member, 1_000);
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 30_000 }));
    await vi.advanceTimersByTimeAsync(500);
    board.extend(member, 3_000);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(admitted.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(admitted.state).toBe('admitted');
  });

  it('gives up a wait when the cool-down announced meanwhile is longer than the caller may wait', async () => {
    board.extend(member, 1_000);
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 10_000 }));
    await vi.advanceTimersByTimeAsync(200);
    board.extend(member, 60_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted.state).toBe('rejected');
    expect(admitted.error).toMatchObject({ code: 'EXO_THROTTLED', retryAfterMs: 60_000 });
  });

  it('rejects with LIMIT_LEASE_LOST when the slot is lost during the wait', async () => {
    board.extend(member, 5_000);
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 30_000 }));
    await vi.advanceTimersByTimeAsync(100);
    slot.lose();
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted.error).toMatchObject({ code: 'LIMIT_LEASE_LOST' });
  });

  it('rejects with the signal’s reason when the caller aborts', async () => {
    board.extend(member, 5_000);
    const controller = new AbortController();
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 30_000, signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(100);
    const reason = new AppError('RUN_TIMEOUT', 'too long');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(admitted.error).toBe(reason);
    await expect(admitRequest({ slot, board, clock, maxWaitMs: 0, signal: controller.signal })).rejects.toBe(reason);
  });

  it('treats a slot whose validity ran out as lost, even when no timer told it yet', async () => {
    slot.validUntil = Date.now() + 1_000;
    await expect(admitRequest({ slot, board, clock, maxWaitMs: 0 })).resolves.toBeUndefined();
    vi.setSystemTime(Date.now() + 1_000);
    await expect(admitRequest({ slot, board, clock, maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(slot.expired).toBe(1);
  });

  it('checks the validity again after a wait: a slot that ran out meanwhile admits nothing', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    slot.validUntil = Date.now() + 1_500;
    board.extend(member, 2_000);
    const admitted = track(admitRequest({ slot, board, clock, maxWaitMs: 30_000 }));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(admitted.error).toMatchObject({ code: 'LIMIT_LEASE_LOST' });
  });
});

describe('the planned moment', () => {
  it('is never before the deadline plus the request’s spread, even when the clock moves between reads', async () => {
    vi.useRealTimers();
    // A clock that moves on a millisecond with every read, as a busy process's does between two statements.
    let reads = 0;
    const creeping = { now: () => 5_000 + reads++ };
    const creepingBoard = createCoolDownBoard(creeping);
    creepingBoard.extend(member, 20);
    const deadline = 5_000 + 20;
    vi.spyOn(Math, 'random').mockReturnValue(0);
    // What the gate last read before it let the request go.
    let leftAt: number | undefined;
    const gateClock = {
      now: () => {
        leftAt = creeping.now();
        return leftAt;
      },
    };
    await admitRequest({ slot, board: creepingBoard, clock: gateClock, maxWaitMs: 1_000 });
    expect(leftAt).toBeGreaterThanOrEqual(deadline);
  });
});
