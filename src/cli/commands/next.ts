import { nextFireTimes } from '../../config/cron.js';
import { loadConfigFile } from '../../config/load.js';
import { AppError } from '../../core/errors.js';
import type { GlobalOptions } from '../runtime.js';

/** `exorun next <job>`: the next fire times, in the job's time zone and in UTC. */
export async function nextCommand(jobName: string, options: GlobalOptions & { count: string; from?: string }): Promise<number> {
  const config = await loadConfigFile(options.config ?? process.env['EXORUN_CONFIG'] ?? 'jobs.yaml');
  const job = config.jobs[jobName];
  if (!job) throw new AppError('CFG_JOB_UNKNOWN', `No job named '${jobName}' (jobs: ${Object.keys(config.jobs).join(', ')}).`);
  if (!job.schedule) {
    process.stdout.write(`${jobName} has no schedule; it runs only with \`exorun run ${jobName}\`.\n`);
    return 0;
  }
  const count = Number.parseInt(options.count, 10);
  const fromMs = options.from ? Date.parse(options.from) : Date.now();
  if (!Number.isFinite(count) || count < 1 || Number.isNaN(fromMs)) {
    throw new AppError('CFG_ENV_INVALID', '--count must be a positive number and --from an ISO date.');
  }
  const formatter = new Intl.DateTimeFormat('en-CA', {
    timeZone: job.timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
    weekday: 'short',
  });
  process.stdout.write(`${jobName}: "${job.schedule}" in ${job.timezone}${job.enabled ? '' : ' (disabled)'}\n`);
  for (const time of nextFireTimes(job.schedule, job.timezone, count, fromMs)) {
    process.stdout.write(`  ${formatter.format(time).replace(',', '')}   ${new Date(time).toISOString()}\n`);
  }
  return 0;
}
