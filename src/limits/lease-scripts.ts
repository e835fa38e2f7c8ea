/**
 * Lua for the per-(tenant, service) lease semaphore. Every script reads the clock with Redis TIME,
 * so expiry never depends on worker clocks (redis-semaphore's weakness, peers §2.2). Keys of one
 * semaphore share a hash tag so they live in one Cluster slot.
 *
 * KEYS[1] holders        ZSET holderId -> lease expiry (ms)
 * KEYS[2] waiters        ZSET waiterId -> first time seen (ms): the FIFO line
 * KEYS[3] waiterExpiry   ZSET waiterId -> when the waiter is forgotten unless it asks again (ms)
 * KEYS[4] cooldown       STRING with a TTL: the service asked this key to slow down until it expires
 */

const NOW_AND_PURGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
`;

const KEEP_KEYS_ALIVE = `
local keep = math.max(ttl, waiterTtl) * 2
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
`;

/**
 * ARGV: holderId, waiterId, limit, leaseTtlMs, waiterTtlMs, queuedAtMs
 * Returns {granted (0|1), retryAfterMs, position, holders}.
 * queuedAtMs orders the line (when the run was queued, so runs picked up together still go in
 * the order they were queued); expiry always uses Redis time.
 * A waiter is granted only if fewer than `limit - holders` waiters stand before it (first come,
 * first served); otherwise it joins or keeps its place in line.
 */
export const ACQUIRE = `${NOW_AND_PURGE}
local holderId, waiterId = ARGV[1], ARGV[2]
local limit, ttl, waiterTtl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local queuedAt = tonumber(ARGV[6]) or now
if redis.call('ZSCORE', KEYS[1], holderId) then
  redis.call('ZADD', KEYS[1], now + ttl, holderId)
  return {1, 0, 0, redis.call('ZCARD', KEYS[1])}
end
redis.call('ZADD', KEYS[2], 'NX', queuedAt, waiterId)
redis.call('ZADD', KEYS[3], now + waiterTtl, waiterId)
local held = redis.call('ZCARD', KEYS[1])
local position = redis.call('ZRANK', KEYS[2], waiterId)
${KEEP_KEYS_ALIVE}
-- While the service asked the key to slow down, nobody gets a slot; the line keeps its order.
local cooling = redis.call('PTTL', KEYS[4])
if cooling > 0 then return {0, cooling, position, held} end
if position < limit - held then
  redis.call('ZREM', KEYS[2], waiterId)
  redis.call('ZREM', KEYS[3], waiterId)
  redis.call('ZADD', KEYS[1], now + ttl, holderId)
  return {1, 0, position, held + 1}
end
local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local retryAfter = ttl
if earliest[2] then retryAfter = math.max(1, tonumber(earliest[2]) - now) end
return {0, retryAfter, position, held}
`;

/**
 * ARGV: holderId, limit, leaseTtlMs, waiterTtlMs. Takes a slot only if one is free for nobody
 * else: fewer holders plus waiters than `limit`, and no cool-down. Never joins the line. Used for
 * a run's extra (forEach) slots, which must not take a slot a waiting run is entitled to.
 * Returns 1 when granted.
 */
export const TRY_ACQUIRE_FREE = `${NOW_AND_PURGE}
local holderId = ARGV[1]
local limit, ttl, waiterTtl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('PTTL', KEYS[4]) > 0 then return 0 end
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, holderId)
${KEEP_KEYS_ALIVE}
return 1
`;

/**
 * ARGV: holderId, leaseTtlMs. Extends a held lease. Returns {kept (0|1), coolingMs}: a lease that is
 * gone (expired or taken away) must be treated as lost; coolingMs > 0 means no request may start yet.
 */
export const REFRESH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooling = math.max(0, redis.call('PTTL', KEYS[4]))
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {0, cooling}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {1, cooling}
`;

/** ARGV: ms. Starts or extends the key's cool-down (never shortens it); returns the cool-down left. */
export const COOL_DOWN = `
local wanted = tonumber(ARGV[1])
local current = redis.call('PTTL', KEYS[4])
if wanted > current then
  redis.call('SET', KEYS[4], '1', 'PX', wanted)
  return wanted
end
return current
`;

/**
 * ARGV: holderId, limit. Frees the slot. Returns {held (0|1), waiter ids...}: whether the lease
 * was still held (so the release is also the last fencing check), then the waiters that may now
 * proceed (at most the number of free slots, first in line first), so the caller can wake them
 * instead of letting them sleep until their next poll.
 */
export const RELEASE = `${NOW_AND_PURGE}
local held = redis.call('ZREM', KEYS[1], ARGV[1])
local result = {held}
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
if free > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, free - 1)) do table.insert(result, id) end
end
return result
`;

/** ARGV: waiterId, limit. 1 when the waiter would be granted now (without granting). */
export const WOULD_GRANT = `${NOW_AND_PURGE}
local position = redis.call('ZRANK', KEYS[2], ARGV[1])
if not position then return 0 end
if position < tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1]) then return 1 end
return 0
`;

/** ARGV: waiterId. Removes a waiter that gave up. */
export const FORGET_WAITER = `
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`;
