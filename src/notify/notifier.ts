import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NotificationEvent, WebhookConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { decideDeliveryRetry } from '../core/index.js';
import { sleep } from '../core/index.js';

/** What happened, for one webhook message. */
export interface RunNotification {
  event: NotificationEvent;
  job: string;
  tenant: string;
  runId?: string;
  /** The fire time of a scheduled (or missed) run, ISO. */
  scheduledFor?: string;
  /** One sentence for people. */
  summary: string;
  /** Error code of a failed run. */
  code?: string;
  /** Warnings of a run that succeeded with warnings (the first few). */
  warnings?: string[];
  objects?: number;
  durationMs?: number;
  /** Where the output or manifest is, when there is one. */
  manifest?: string;
}

export interface NotifierOptions {
  logger: Logger;
  /** Reads `url: { env: NAME }`; the composition root passes the process environment. */
  env: (name: string) => string | undefined;
  /** Waits between attempts (tests inject one that does not wait); how long is the retry policy's decision. */
  sleep?: (ms: number) => Promise<void>;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** For tests; defaults to a plain node:http(s) POST. */
  post?: PostJson;
}

/** POSTs a JSON body and resolves with the status code (redirects are not followed). */
export type PostJson = (url: string, body: string, timeoutMs: number) => Promise<number>;

export interface Notifier {
  /**
   * Sends `notification` to every webhook that subscribed to its event, with retries. Never
   * throws: a failing webhook is logged (by host only) and must not fail the job.
   */
  notify(webhooks: readonly WebhookConfig[], notification: RunNotification): Promise<void>;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const wait = options.sleep ?? sleep;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const post = options.post ?? postJson;
  const logger = options.logger.child({ component: 'notify' });

  async function send(webhook: WebhookConfig, notification: RunNotification): Promise<void> {
    const url = 'env' in webhook.url ? options.env(webhook.url.env) : webhook.url.literal;
    const where = 'env' in webhook.url ? `$${webhook.url.env}` : describeUrl(webhook.url.literal);
    const context = { job: notification.job, runId: notification.runId, event: notification.event, webhook: where };
    if (url === undefined || url === '') {
      logger.warn(context, `webhook not sent: environment variable ${'env' in webhook.url ? webhook.url.env : ''} is not set`);
      return;
    }
    if (!/^https?:\/\//i.test(url)) {
      logger.warn(context, 'webhook not sent: the URL is not http(s)');
      return;
    }
    const body = JSON.stringify(renderPayload(webhook.format, notification));
    for (let attempt = 1; ; attempt += 1) {
      let problem: string;
      let status: number | undefined;
      try {
        status = await post(url, body, timeoutMs);
        if (status >= 200 && status < 300) {
          logger.info({ ...context, attempt }, 'webhook sent');
          return;
        }
        problem = `HTTP ${status}`;
      } catch (error) {
        problem = error instanceof Error ? `${error.name}` : 'error';
      }
      const decision = decideDeliveryRetry(attempt, status === undefined ? {} : { status });
      if (!decision.retry) {
        logger.warn({ ...context, attempt, problem }, 'webhook failed; giving up (the run is not affected)');
        return;
      }
      logger.debug({ ...context, attempt, problem }, 'webhook failed; retrying');
      await wait(decision.delayMs);
    }
  }

  return {
    async notify(webhooks, notification) {
      const wanted = webhooks.filter((webhook) => webhook.on.includes(notification.event));
      await Promise.all(wanted.map((webhook) => send(webhook, notification).catch(() => undefined)));
    },
  };
}

function postJson(url: string, body: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'exorun' },
        timeout: timeoutMs,
      },
      (response) => {
        // Drained, never logged: a receiver's answer may echo the URL's secret.
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('webhook request timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** Scheme and host only: the path and query of a webhook URL usually hold its secret. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '(invalid url)';
  }
}

const TITLES: Record<NotificationEvent, string> = {
  failure: 'exorun run failed',
  warnings: 'exorun run succeeded with warnings',
  missed: 'exorun scheduled run missed',
};

/** The three payload shapes: generic JSON, a Teams message with an Adaptive Card, a Slack message. */
export function renderPayload(format: WebhookConfig['format'], notification: RunNotification): unknown {
  const facts = factsOf(notification);
  const title = `${TITLES[notification.event]}: ${notification.job} (${notification.tenant})`;
  if (format === 'teams') {
    return {
      type: 'message',
      summary: title,
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              {
                type: 'TextBlock',
                size: 'Medium',
                weight: 'Bolder',
                text: title,
                wrap: true,
                color: notification.event === 'warnings' ? 'Warning' : 'Attention',
              },
              { type: 'TextBlock', text: notification.summary, wrap: true },
              { type: 'FactSet', facts: facts.map(([name, value]) => ({ title: name, value })) },
            ],
          },
        },
      ],
    };
  }
  if (format === 'slack') {
    return {
      text: `${title}: ${notification.summary}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
        { type: 'section', text: { type: 'mrkdwn', text: notification.summary } },
        { type: 'section', fields: facts.slice(0, 10).map(([name, value]) => ({ type: 'mrkdwn', text: `*${name}*\n${value}` })) },
      ],
    };
  }
  return { source: 'exorun', version: 1, title, ...notification };
}

function factsOf(notification: RunNotification): [string, string][] {
  const facts: [string, string][] = [
    ['Job', notification.job],
    ['Tenant', notification.tenant],
  ];
  if (notification.runId !== undefined) facts.push(['Run', notification.runId]);
  if (notification.scheduledFor !== undefined) facts.push(['Scheduled for', notification.scheduledFor]);
  if (notification.code !== undefined) facts.push(['Error code', notification.code]);
  if (notification.objects !== undefined) facts.push(['Objects', String(notification.objects)]);
  if (notification.durationMs !== undefined) facts.push(['Duration', `${(notification.durationMs / 1000).toFixed(1)} s`]);
  if (notification.warnings !== undefined && notification.warnings.length > 0) facts.push(['Warnings', notification.warnings.join('\n')]);
  if (notification.manifest !== undefined) facts.push(['Manifest', notification.manifest]);
  return facts;
}
