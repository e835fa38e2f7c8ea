/** The scheduler: job schedulers kept in line with jobs.yaml, ticks turned into runs, operator tasks. */
export { type SchedulerService } from './scheduler-service.js';
export { startSchedulerProcess } from './main.js';
export { pruneConfiguredJobs } from './operator-tasks.js';
