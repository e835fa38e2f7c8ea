import { describe, expect, it } from 'vitest';
import { createLifecycle } from '../../../src/core/lifecycle.js';

describe('createLifecycle', () => {
  it('closes resources in reverse order of registration', async () => {
    const closed: string[] = [];
    const lifecycle = createLifecycle();
    lifecycle.add('redis', () => void closed.push('redis'));
    lifecycle.add('worker', () => void closed.push('worker'));
    await lifecycle.close();
    expect(closed).toEqual(['worker', 'redis']);
  });

  it('returns the same promise on repeated close and closes each resource once', async () => {
    let count = 0;
    const lifecycle = createLifecycle();
    lifecycle.add('counter', () => void (count += 1));
    const first = lifecycle.close();
    expect(lifecycle.close()).toBe(first);
    await first;
    expect(count).toBe(1);
  });

  it('keeps closing after a failure and reports every failure together', async () => {
    const closed: string[] = [];
    const lifecycle = createLifecycle();
    lifecycle.add('a', () => void closed.push('a'));
    lifecycle.add('b', () => {
      throw new Error('b broke');
    });
    await expect(lifecycle.close()).rejects.toThrow(AggregateError);
    expect(closed).toEqual(['a']);
  });

  it('gives up on a resource that overruns the deadline', async () => {
    const lifecycle = createLifecycle();
    lifecycle.add('stuck', () => new Promise<void>(() => undefined));
    const started = Date.now();
    await expect(lifecycle.close(100)).rejects.toThrow(/1 resource/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses registrations once shutdown started', async () => {
    const lifecycle = createLifecycle();
    await lifecycle.close();
    expect(() => lifecycle.add('late', () => undefined)).toThrow(/shutdown already started/);
  });
});
