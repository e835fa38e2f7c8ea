import type { RunProgressEvent } from '../queue/index.js';

/**
 * Shows a waiting run's progress. On a terminal: one line rewritten in place (pages, objects,
 * elapsed, waiting for a slot / delayed until …). Elsewhere (CI, pipes): one JSON object per
 * event on stderr, so stdout keeps only the result.
 */
export interface ProgressReporter {
  handle(event: RunProgressEvent): void;
  /** Clears the live line (TTY) before the result is printed. */
  finish(): void;
}

export function createProgressReporter(options: { runId: string; tty: boolean; write: (text: string) => void; now?: () => number }): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedMs = now();
  let state = 'queued';
  let pages = 0;
  let objects = 0;
  let lastRender = '';
  let timer: NodeJS.Timeout | undefined;

  const elapsed = (): string => `${Math.round((now() - startedMs) / 1000)}s`;
  const render = (): void => {
    const line = `${options.runId}: ${state} · ${pages} page(s), ${objects} object(s) · ${elapsed()}`;
    if (line === lastRender) return;
    lastRender = line;
    options.write(`\r\x1b[2K${line}`);
  };

  if (options.tty) {
    timer = setInterval(render, 1_000);
    timer.unref();
    render();
  }

  return {
    handle(event) {
      if (event.kind === 'running') {
        pages = event.pages;
        objects = event.objects;
      }
      state = describe(event, state);
      if (options.tty) render();
      else {
        options.write(
          `${JSON.stringify({ event: 'progress', runId: options.runId, at: new Date(now()).toISOString(), elapsedMs: now() - startedMs, ...event })}\n`,
        );
      }
    },
    finish() {
      if (timer) clearInterval(timer);
      if (options.tty && lastRender !== '') options.write('\r\x1b[2K');
    },
  };
}

function describe(event: RunProgressEvent, previous: string): string {
  switch (event.kind) {
    case 'started':
      return 'started';
    case 'waiting-for-slot':
      return event.position === undefined ? 'waiting for a slot' : `waiting for a slot (${event.position + 1} in line)`;
    case 'running':
      return 'running';
    case 'delayed': {
      const until = new Date(event.untilMs).toLocaleTimeString();
      return previous.startsWith('waiting for a slot') ? `${previous}, next try ${until}` : `throttled or backing off until ${until}`;
    }
    case 'retrying':
      return `attempt failed (${event.reason.split(':')[0] ?? 'error'}), retrying`;
  }
}
