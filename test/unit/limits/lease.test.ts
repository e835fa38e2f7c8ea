import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../src/core/errors.js';
import type { LeaseKey } from '../../../src/core/ports.js';
import { createCoolDownBoard, type CoolDownBoard } from '../../../src/limits/cool-downs.js';
import { createLease, type LeaseBackend, type ManagedLease } from '../../../src/limits/lease.js';

const key: LeaseKey = { tenant: 'contoso.onmicrosoft.com', service: 'exo' };
const member = 'contoso.onmicrosoft.com|exo';
const clock = { now: () => Date.now() };
const ttl = 3_000;

/**
 * A backend whose answers the test decides: Redis up, away, or without the lease. While away, calls
 * wait as the limiter's do (in the connection's offline queue, up to their wait bound) and are
 * answered as soon as Redis is back.
 */
class FakeBackend implements LeaseBackend {
  private mode: 'up' | 'away' | 'gone' = 'up';
  private queued: (() => void)[] = [];
  coolingMs = 0;
  refreshes = 0;
  releases: number[] = [];
  throttles: number[] = [];
  constructor(private readonly board: CoolDownBoard) {}

  set(mode: 'up' | 'away' | 'gone'): void {
    this.mode = mode;
    if (mode !== 'away') for (const answer of this.queued.splice(0)) answer();
  }

  refresh(_holderId: string, waitMs: number): Promise<{ kept: boolean; coolingMs: number }> {
    this.refreshes += 1;
    return this.answer(waitMs, () => ({ kept: this.mode === 'up', coolingMs: this.coolingMs }));
  }

  release(_holderId: string, waitMs: number): Promise<boolean> {
    this.releases.push(waitMs);
    return this.answer(waitMs, () => this.mode === 'up');
  }

  throttled(waitMs: number): void {
    this.throttles.push(waitMs);
    this.board.extend(member, waitMs);
  }

  private answer<T>(waitMs: number, value: () => T): Promise<T> {
    if (this.mode !== 'away') return Promise.resolve(value());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AppError('REDIS_UNAVAILABLE', 'away')), waitMs);
      this.queued.push(() => {
        clearTimeout(timer);
        resolve(value());
      });
    });
  }
}

let board: CoolDownBoard;
let backend: FakeBackend;
let lost: number;
let ended: number;
let lease: ManagedLease;

beforeEach(() => {
  vi.useFakeTimers({ now: 5_000_000 });
  board = createCoolDownBoard(clock);
  backend = new FakeBackend(board);
  lost = 0;
  ended = 0;
  lease = createLease({
    key,
    member,
    holderId: 'run-1:token:exo:1',
    leaseTtlMs: ttl,
    validUntilMs: Date.now() + ttl,
    redisWaitMs: ttl,
    clock,
    board,
    backend,
    onLost: () => (lost += 1),
    onEnd: () => (ended += 1),
  });
});
afterEach(() => {
  lease.stop();
  vi.useRealTimers();
});

describe('lease', () => {
  it('stays held beyond its TTL while the heartbeat confirms it', async () => {
    await vi.advanceTimersByTimeAsync(ttl * 4);
    expect(backend.refreshes).toBeGreaterThanOrEqual(11);
    expect(lease.signal.aborted).toBe(false);
    expect(lease.validUntilMs()).toBeGreaterThan(Date.now() + (ttl * 2) / 3 - 1);
    await expect(lease.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
  });

  it('keeps admitting while Redis is away, until the last confirmation plus the TTL; then it is lost', async () => {
    await vi.advanceTimersByTimeAsync(ttl / 3);
    const confirmedAt = Date.now();
    backend.set('away');
    await vi.advanceTimersByTimeAsync(ttl - 10);
    await expect(lease.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
    expect(lease.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(confirmedAt + ttl - Date.now());
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    await expect(lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    expect(lost).toBe(1);
    expect(ended).toBe(1);
  });

  it('survives an outage shorter than its validity: the heartbeat that waited succeeds once Redis is back', async () => {
    await vi.advanceTimersByTimeAsync(ttl / 3);
    backend.set('away');
    await vi.advanceTimersByTimeAsync(ttl / 2);
    backend.set('up');
    await vi.advanceTimersByTimeAsync(ttl * 3);
    expect(lease.signal.aborted).toBe(false);
    expect(lost).toBe(0);
    await expect(lease.admit({ maxWaitMs: 0 })).resolves.toBeUndefined();
  });

  it('is lost as soon as a heartbeat finds that Redis no longer has it', async () => {
    backend.set('gone');
    await vi.advanceTimersByTimeAsync(ttl / 3);
    expect(lease.signal.aborted).toBe(true);
    expect(lost).toBe(1);
    expect(await lease.release()).toBe(false);
  });

  it('applies the stored cool-down a heartbeat reports', async () => {
    backend.coolingMs = 60_000;
    await vi.advanceTimersByTimeAsync(ttl / 3);
    await expect(lease.admit({ maxWaitMs: 30_000 })).rejects.toMatchObject({ code: 'EXO_THROTTLED' });
  });

  it('applies its own throttling before throttled() returns', async () => {
    lease.throttled(2_000);
    expect(backend.throttles).toEqual([2_000]);
    await expect(lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'EXO_THROTTLED', retryAfterMs: 2_000 });
  });

  it('release: true when still held, once (idempotent), and nothing is admitted afterwards', async () => {
    expect(await lease.release()).toBe(true);
    expect(await lease.release()).toBe(true);
    expect(backend.releases).toHaveLength(1);
    await expect(lease.admit({ maxWaitMs: 0 })).rejects.toMatchObject({ code: 'LIMIT_LEASE_LOST' });
    const refreshes = backend.refreshes;
    await vi.advanceTimersByTimeAsync(ttl * 2);
    expect(backend.refreshes).toBe(refreshes);
    expect(lost).toBe(0);
  });

  it('release waits for Redis as long as the lease is surely held, then reports it lost', async () => {
    await vi.advanceTimersByTimeAsync(1_000);
    backend.set('away');
    const released = lease.release();
    await vi.advanceTimersByTimeAsync(ttl);
    expect(await released).toBe(false);
    // It waited exactly the validity left: up to the moment nobody could say it still held.
    expect(backend.releases).toEqual([ttl]);
    expect(lease.signal.reason).toMatchObject({ code: 'LIMIT_LEASE_LOST' });
  });

  it('release during a short outage answers true once Redis is back', async () => {
    backend.set('away');
    let answer: boolean | undefined;
    const released = lease.release().then((value) => (answer = value));
    await vi.advanceTimersByTimeAsync(1_500);
    expect(answer).toBeUndefined();
    backend.set('up');
    await released;
    expect(answer).toBe(true);
    expect(lease.signal.aborted).toBe(false);
  });

  it('release reports false when Redis says the lease was no longer held', async () => {
    backend.set('gone');
    expect(await lease.release()).toBe(false);
    expect(lease.signal.aborted).toBe(true);
  });
});
