import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RETRY_LIMITS } from '../../../src/core/retry-policy.js';
import type { WebhookConfig } from '../../../src/config/operator.js';
import { createLogger } from '../../../src/core/logger.js';
import { createNotifier, describeUrl, renderPayload, type RunNotification } from '../../../src/notify/notifier.js';

const notification: RunNotification = {
  event: 'failure',
  job: 'nightly',
  tenant: 'contoso',
  runId: 'nightly.contoso.20261122T020000Z',
  summary: 'The service rejected a parameter.',
  code: 'EXO_BAD_REQUEST',
};

function capture(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => lines.join('') };
}

const noWait = async (): Promise<void> => {};

const hook = (url: WebhookConfig['url'], on: WebhookConfig['on'] = ['failure', 'warnings', 'missed']): WebhookConfig => ({ url, format: 'json', on });

describe('createNotifier', () => {
  it('retries 5xx with backoff, then gives up without throwing, and never logs the URL path', async () => {
    const { logger, text } = capture();
    const calls: string[] = [];
    const notifier = createNotifier({ logger, env: () => undefined, sleep: noWait, post: (url) => (calls.push(url), Promise.resolve(503)) });
    await expect(notifier.notify([hook({ literal: 'https://hooks.example.com/services/T0/B0/s3cr3t' })], notification)).resolves.toBeUndefined();
    expect(calls).toHaveLength(RETRY_LIMITS.deliveryAttempts);
    expect(text()).toContain('giving up');
    expect(text()).toContain('https://hooks.example.com/…');
    expect(text()).not.toContain('s3cr3t');
  });

  it('does not retry a 4xx that retrying cannot fix, but retries 429 and network errors', async () => {
    const { logger } = capture();
    const statuses = [400];
    let calls = 0;
    const notifier = createNotifier({
      logger,
      env: () => undefined,
      sleep: noWait,
      post: () => (calls++, Promise.resolve(statuses.shift() ?? 200)),
    });
    await notifier.notify([hook({ literal: 'https://a.example/x' })], notification);
    expect(calls).toBe(1);

    let tries = 0;
    const flaky = createNotifier({
      logger,
      env: () => undefined,
      sleep: noWait,
      post: () => {
        tries += 1;
        if (tries === 1) return Promise.reject(new Error('ECONNRESET'));
        return Promise.resolve(tries === 2 ? 429 : 204);
      },
    });
    await flaky.notify([hook({ literal: 'https://a.example/x' })], notification);
    expect(tries).toBe(3);
  });

  it('reads { env } URLs at send time, skips unset ones, and sends only subscribed events', async () => {
    const { logger, text } = capture();
    const sent: string[] = [];
    const notifier = createNotifier({
      logger,
      env: (name) => (name === 'HOOK' ? 'https://b.example/secret' : undefined),
      post: (url) => (sent.push(url), Promise.resolve(200)),
    });
    await notifier.notify([hook({ env: 'HOOK' }), hook({ env: 'UNSET' }), hook({ literal: 'https://c.example/y' }, ['missed'])], notification);
    expect(sent).toEqual(['https://b.example/secret']);
    expect(text()).toContain('UNSET is not set');
    expect(text()).not.toContain('b.example/secret');
  });
});

describe('renderPayload', () => {
  it('generic JSON carries every field', () => {
    expect(renderPayload('json', notification)).toEqual({ source: 'exorun', version: 1, title: 'exorun run failed: nightly (contoso)', ...notification });
  });

  it('Teams gets an Adaptive Card message with the facts', () => {
    const payload = renderPayload('teams', notification) as {
      type: string;
      attachments: { contentType: string; content: { type: string; body: { type: string; facts?: { title: string; value: string }[] }[] } }[];
    };
    expect(payload.type).toBe('message');
    expect(payload.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const facts = payload.attachments[0]!.content.body.find((block) => block.type === 'FactSet')!.facts!;
    expect(facts).toContainEqual({ title: 'Error code', value: 'EXO_BAD_REQUEST' });
    expect(facts).toContainEqual({ title: 'Run', value: notification.runId });
  });

  it('Slack gets text plus blocks', () => {
    const payload = renderPayload('slack', { ...notification, event: 'missed' }) as { text: string; blocks: { type: string }[] };
    expect(payload.text).toMatch(/^exorun scheduled run missed: nightly \(contoso\): /);
    expect(payload.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section']);
  });

  it('describeUrl keeps scheme and host only', () => {
    expect(describeUrl('https://x.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456?sig=zzz')).toBe('https://x.webhook.office.com/…');
    expect(describeUrl('not a url')).toBe('(invalid url)');
  });
});
