export { createRedisTenantLimiter, type KeyState, type LimiterStats, type RedisLimiterOptions, type RedisTenantLimiter } from './redis-limiter.js';
export { createRunSlots, type RunSlotsOptions } from './run-slots.js';
