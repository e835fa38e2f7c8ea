import { describe, expect, it } from 'vitest';
import { checkConfigText, parseConfigText } from '../../../src/config/load.js';
import { formatProblem } from '../../../src/config/problems.js';

const file = (defaults: string, job: string): string => `version: 1
${defaults}
tenants:
  demo:
    organization: demo.onmicrosoft.com
    cloud: simulated
jobs:
  inventory:
    schedule: "0 0 2 * * *"
    tenant: demo
    cmdlet: Get-Mailbox
${job}
  other:
    tenant: demo
    cmdlet: Get-Mailbox
`;

function problems(text: string): string[] {
  const result = checkConfigText(text, 'jobs.yaml', '/etc/exorun/jobs.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('jobs.yaml: retention, notify, catchUp, missedRunGrace, csv', () => {
  it('applies the documented defaults when nothing is set', () => {
    const job = parseConfigText(file('', ''), 'jobs.yaml', '/etc/exorun/jobs.yaml').jobs['inventory']!;
    expect(job.retention).toBeUndefined();
    expect(job.notify).toEqual([]);
    expect(job.catchUp).toBe('none');
    expect(job.missedRunGraceMs).toBe(300_000);
    expect(job.output.csv).toBeUndefined();
  });

  it('takes defaults for every job, lets a job override them, and notify: [] turns webhooks off', () => {
    const config = parseConfigText(
      file(
        `defaults:
  retention: { keepRuns: 30 }
  catchUp: once
  missedRunGrace: 10m
  output: { csv: { bom: true } }
  notify:
    - url: { env: TEAMS_HOOK }
      format: teams
      on: [failure, missed]`,
        `    retention: { keepDays: 7 }
    missedRunGrace: 90s
    notify: []`,
      ),
      'jobs.yaml',
      '/etc/exorun/jobs.yaml',
    );
    expect(config.jobs['inventory']).toMatchObject({
      retention: { keepDays: 7 },
      catchUp: 'once',
      missedRunGraceMs: 90_000,
      notify: [],
      output: { csv: { bom: true } },
    });
    expect(config.jobs['other']).toMatchObject({
      retention: { keepRuns: 30 },
      missedRunGraceMs: 600_000,
      notify: [{ url: { env: 'TEAMS_HOOK' }, format: 'teams', on: ['failure', 'missed'] }],
    });
  });

  it('fills a webhook’s format and events, and keeps a literal URL apart from an env reference', () => {
    const job = parseConfigText(file('', '    notify:\n      - url: https://hooks.example.com/x'), 'jobs.yaml', '/etc/exorun/jobs.yaml').jobs['inventory']!;
    expect(job.notify).toEqual([{ url: { literal: 'https://hooks.example.com/x' }, format: 'json', on: ['failure', 'warnings', 'missed'] }]);
  });

  it('reports bad values at their line and column', () => {
    const text = file(
      '',
      `    retention: {}
    catchUp: all
    missedRunGrace: soon
    notify:
      - url: ftp://hooks.example.com/x
        format: email
      - url: { env: 1BAD }
        on: []`,
    );
    expect(problems(text).sort()).toEqual([
      'jobs.yaml:12:16 jobs.inventory.retention: give keepRuns, keepDays or both',
      "jobs.yaml:13:14 jobs.inventory.catchUp: must be one of none, once; got 'all'",
      'jobs.yaml:14:21 jobs.inventory.missedRunGrace: must be a duration such as 30s, 5m, 2h or a number of milliseconds',
      'jobs.yaml:16:14 jobs.inventory.notify[0].url: must be an http:// or https:// URL',
      "jobs.yaml:17:17 jobs.inventory.notify[0].format: must be one of json, teams, slack; got 'email'",
      'jobs.yaml:18:21 jobs.inventory.notify[1].url.env: must be an environment variable name',
      'jobs.yaml:19:13 jobs.inventory.notify[1].on: must be at least 1 item(s); got a list',
    ]);
  });
});
