export { checkConfigText, loadConfigFile, parseConfigText, readConfigText, type CheckResult } from './load.js';
export { formatProblem, problemsOf, type ConfigProblem } from './problems.js';
export { checkCronExpression, nextFireTimes } from './cron.js';
export { isReadOnlyCmdlet } from '../core/cmdlets.js';
export * from './model.js';
