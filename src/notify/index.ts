/** Webhook notifications about runs (failures, warnings) and missed schedules. */
export { createNotifier, type Notifier } from './notifier.js';
