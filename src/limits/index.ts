export { createRedisTenantLimiter, type RedisLimiterOptions, type RedisTenantLimiter } from './redis-limiter.js';
