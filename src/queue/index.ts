export { checkRedis, createRedisConnection, redactUrl, type ConnectionRole, type Redis } from './connection.js';
export { findRedisServer, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
export { parseRunPayload, runPayloadSchema, runStepSchema, tickPayloadSchema, type RunPayload, type RunStep, type TickPayload } from './payload.js';
export { createRunWindowStore, type RunWindowStore } from './run-windows.js';
export {
  createRunQueue,
  DEFAULT_RUN_ATTEMPTS,
  queueCounts,
  queuePrometheusText,
  RUNS_QUEUE,
  TICKS_QUEUE,
  waitForRun,
  type EnqueueResult,
  type RunQueue,
  type RunResult,
} from './run-queue.js';
export { describeRedisError, isRedisConnectionError, onRedisOutage, redisSeemsDown, waitForRedis } from './connection.js';
export { adoptEmbeddedRedis, isProcessAlive } from './embedded-redis.js';
export { type RunProgressEvent, watchRunProgress } from './run-progress.js';
export { createRunHistory, type RunHistory, type RunHistoryEntry } from './run-history.js';
export { openQueues, type OpenQueues } from './queues.js';
