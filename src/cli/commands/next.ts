import { FIRE_TIME_HORIZON_MS, nextFireTimes } from '../../config/index.js';
import { loadJobPreview } from '../../config/index.js';
import { listSome } from '../../config/index.js';
import { AppError } from '../../core/index.js';
import type { GlobalOptions } from '../runtime.js';

/** `exorun next <job>`: the next fire times, in the job's time zone and in UTC. */
export async function nextCommand(jobName: string, options: GlobalOptions & { count: string; from?: string }): Promise<number> {
  const count = Number.parseInt(options.count, 10);
  const fromMs = options.from ? Date.parse(options.from) : Date.now();
  if (!Number.isFinite(count) || count < 1 || Number.isNaN(fromMs)) {
    throw new AppError('CFG_ENV_INVALID', '--count must be a positive number and --from an ISO date.');
  }
  // The whole file is checked (a file with problems is refused), but only this job is built.
  const { job, jobNames } = await loadJobPreview(options.config ?? process.env['EXORUN_CONFIG'] ?? 'jobs.yaml', jobName);
  if (!job) throw new AppError('CFG_JOB_UNKNOWN', `No job named '${jobName}' (jobs: ${listSome(jobNames)}).`);
  if (!job.schedule) {
    process.stdout.write(`${jobName} has no schedule; it runs only with \`exorun run ${jobName}\`.\n`);
    return 0;
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
  const times = nextFireTimes(job.schedule, job.timezone, count, fromMs);
  for (const time of times) {
    process.stdout.write(`  ${formatter.format(time).replace(',', '')}   ${new Date(time).toISOString()}\n`);
  }
  if (times.length < count) {
    const years = Math.round(FIRE_TIME_HORIZON_MS / (365.25 * 86_400_000));
    process.stdout.write(`  ${times.length === 0 ? 'no fire time' : 'no further fire time'} within the next ${years} years\n`);
  }
  return 0;
}
