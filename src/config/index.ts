export { checkConfigFile, checkConfigText, loadConfigFile, parseConfigText, readConfigText, type CheckResult, type CertificateInspector } from './load.js';
export { formatProblem, formatWarning, problemsOf, type ConfigProblem } from './problems.js';
export { checkCronExpression, nextFireTimes } from './cron.js';
export { isReadOnlyCmdlet } from '../core/cmdlets.js';
export * from './model.js';
