export { createRedisTenantLimiter, type KeyState, type LimiterStats, type RedisLimiterOptions, type RedisTenantLimiter } from './redis-limiter.js';
export { createRunSlots, type RunSlots, type RunSlotsOptions, type SlotHold } from './run-slots.js';
