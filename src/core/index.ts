/**
 * The core every folder may use: the error catalogue and AppError, the retry policy, the ports
 * (interfaces between the parts), the run plan schema, logger, lifecycle, time. It imports nothing
 * internal.
 */
export { AppError, type ErrorCode, isAppError, toAppError } from './errors.js';
export { createLogger, type Logger } from './logger.js';
export {
  type AccessToken,
  type AcquireRequest,
  type AcquireResult,
  type Clock,
  CLOUD_NAMES,
  type CloudEndpoints,
  type CloudName,
  type CmdletPage,
  type CmdletRequest,
  type CommittedOutput,
  CSV_DELIMITERS,
  type CsvSettings,
  type ExchangeClient,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  type InvokeOptions,
  type ItemOutcome,
  type Lease,
  type LeaseKey,
  OUTPUT_FORMATS,
  type OutputFormat,
  type OutputStore,
  type RunDescriptor,
  type RunOutput,
  type RunSlots,
  type SecretRef,
  SERVICE_NAMES,
  type ServiceEndpoint,
  type ServiceName,
  type SlotHold,
  systemClock,
  type TenantLimiter,
  type TokenProvider,
  type TokenRequest,
  type WaitForSlotOptions,
} from './ports.js';
export { clockGaps, compactUtc, isValidTimeZone, localDate, parseDurationMs, sleep, wallClock, withJitter } from './time.js';
export { type RunDefinition, type RunPlan, runPlanSchema, type RunStep, runStepSchema } from './run-plan.js';
export { isReadOnlyCmdlet, READ_ONLY_VERBS, writingParametersOf } from './cmdlets.js';
export { parseTemplate, type TemplateExpression, templateExpressionsIn, type TemplateReference } from './template-syntax.js';
export {
  decideDeliveryRetry,
  decideRequestRetry,
  decideRunOutcome,
  failsOnlyTheItem,
  inPlaceWaitLimitMs,
  type RequestRetryState,
  resumeAfterMs,
  type RunOutcome,
} from './retry-policy.js';
export { createLifecycle, withTimeout } from './lifecycle.js';
export { createMetrics, type ExorunMetrics } from './metrics.js';
