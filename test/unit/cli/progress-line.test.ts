import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../../../src/cli/progress-line.js';

describe('createProgressReporter', () => {
  it('prints one JSON event per line when not on a terminal', () => {
    const written: string[] = [];
    let now = 1_000;
    const reporter = createProgressReporter({ runId: 'r1', tty: false, write: (text) => written.push(text), now: () => now });
    reporter.handle({ kind: 'waiting-for-slot', position: 1 });
    now = 3_500;
    reporter.handle({ kind: 'running', pages: 2, objects: 2000 });
    reporter.finish();
    const events = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([
      { event: 'progress', runId: 'r1', at: new Date(1_000).toISOString(), elapsedMs: 0, kind: 'waiting-for-slot', position: 1 },
      { event: 'progress', runId: 'r1', at: new Date(3_500).toISOString(), elapsedMs: 2_500, kind: 'running', pages: 2, objects: 2000 },
    ]);
  });

  it('rewrites one line on a terminal and clears it at the end', () => {
    const written: string[] = [];
    const reporter = createProgressReporter({ runId: 'r2', tty: true, write: (text) => written.push(text), now: () => 0 });
    reporter.handle({ kind: 'waiting-for-slot', position: 0 });
    reporter.handle({ kind: 'delayed', untilMs: 60_000 });
    reporter.handle({ kind: 'running', pages: 3, objects: 42 });
    reporter.finish();
    expect(written.every((text) => text.startsWith('\r\x1b[2K'))).toBe(true);
    expect(written).toContain('\r\x1b[2Kr2: waiting for a slot (1 in line) · 0 page(s), 0 object(s) · 0s');
    expect(written.some((text) => text.includes('waiting for a slot (1 in line), next try'))).toBe(true);
    expect(written).toContain('\r\x1b[2Kr2: running · 3 page(s), 42 object(s) · 0s');
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });
});
