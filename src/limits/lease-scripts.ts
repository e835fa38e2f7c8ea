/**
 * Lua for the per-(tenant, service) lease semaphore. Every script reads the clock with Redis TIME,
 * so expiry never depends on worker clocks. The keys of one semaphore share a hash tag, so they live
 * in one Redis Cluster slot.
 *
 * KEYS (the same seven, in this order, for every script):
 * 1 holders       ZSET member -> lease expiry (ms, Redis time). A member is a holder id (unique per
 *                 attempt) or `handoff|<waiterId>`: a slot handed to a waiter whose run waits in the
 *                 queue, kept for it until its run comes (it adopts it) or the expiry passes.
 * 2 waiters       ZSET waiterId -> queued at (ms): the FIFO line
 * 3 waiterExpiry  ZSET waiterId -> when the waiter is forgotten unless it asks again (ms)
 * 4 cooldown      STRING with a TTL: the service asked this key to slow down until it expires
 * 5 line          HASH  `s:<waiterId>` -> where the waiter waits: a holder id while an attempt waits
 *                       for it in some process (a freed slot goes straight to that holder id), `=`
 *                       once it has been told to come (its run is being fetched or handled), absent
 *                       otherwise;
 *                       `g:<waiterId>` -> the highest generation (pickup number) of the run seen;
 *                       `limit` -> the slots of the key, as the latest caller configured them
 * 6 released      ZSET holderId -> until when its release is remembered (ms), so a release that
 *                 is sent again after a lost reply still reports that the lease was held
 * 7 generations   ZSET waiterId -> until when its `g:` field is kept (ms): while the run asks or
 *                 holds a slot, and `keep` beyond, so an older attempt that wakes up stays fenced
 *                 out even after a newer one got its slot
 *
 * ARGV (the same first six for every script; each script documents what follows):
 * 1 channel   pub/sub channel for notices to every process
 * 2 member    the key as notices name it (`tenant|service`)
 * 3 limit     slots of the key; '' = the stored one
 * 4 leaseTtl  ms a lease lives without a heartbeat (also the life of a handed-off slot)
 * 5 keep      ms the semaphore's keys outlive their last write
 * 6 origin    the calling limiter instance, named in notices so it can skip its own
 *
 * Notices (JSON, published on the channel):
 * - `{"t":"grant","k":member,"e":expiry,"g":[[waiterId,holderId],…]}`: slots went straight to these
 *   holders, which wait in some process; `e` is the leases' expiry in Redis time.
 * - `{"t":"cool","k":member,"ms":remaining,"o":origin}`: the key cools down for `ms` from now.
 *
 * Script replies end with the waiters to wake: told to come because a slot was handed to them or
 * because they just moved into the first `limit` places of the line, and not waiting in any
 * process. The caller's process wakes them (the worker promotes their delayed runs).
 */

const PRELUDE = `
local HANDOFF = 'handoff|'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local channel, member, origin = ARGV[1], ARGV[2], ARGV[6]
local ttl, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local limit = tonumber(ARGV[3])
if limit then
  redis.call('HSET', KEYS[5], 'limit', limit)
else
  limit = tonumber(redis.call('HGET', KEYS[5], 'limit')) or 0
end

local function coolingMs()
  return math.max(0, redis.call('PTTL', KEYS[4]))
end

local function leaveLine(id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[5], 's:' .. id)
end

-- Drops expired leases (a slot handed to a waiter that never came included), waiters that stopped
-- asking, remembered releases and generations that are old enough.
local function purge()
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do leaveLine(id) end
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now)) do
    redis.call('HDEL', KEYS[5], 'g:' .. id)
    redis.call('ZREM', KEYS[7], id)
  end
end

-- Every reply goes through here: the keys written so far outlive this write by 'keep' (the
-- cool-down has its own TTL), then the waiters to wake follow the script's own answer.
local function reply(answer, wake)
  for index = 1, 7 do
    if index ~= 4 then redis.call('PEXPIRE', KEYS[index], keep) end
  end
  for _, id in ipairs(wake or {}) do table.insert(answer, id) end
  return answer
end

-- While slots are free and no cool-down runs, the first waiters in line become holders: a waiter
-- waiting in some process under its own holder id (announced by a grant notice), the asking
-- waiter under the asker's holder id, any other as a handed-off slot kept for its run. Then the
-- waiters in the first 'limit' places that wait in no process and were not told yet are told to
-- come. Returns the waiters to wake and whether the asker got a slot.
local function handOff(asker, askerHolder)
  local wake, grants, askerGranted = {}, {}, false
  local expiry = now + ttl
  if coolingMs() == 0 then
    local free = limit - redis.call('ZCARD', KEYS[1])
    while free > 0 do
      local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
      if not first then break end
      local waitingAs = redis.call('HGET', KEYS[5], 's:' .. first)
      leaveLine(first)
      if first == asker then
        redis.call('ZADD', KEYS[1], expiry, askerHolder)
        askerGranted = true
      elseif waitingAs and waitingAs ~= '=' then
        redis.call('ZADD', KEYS[1], expiry, waitingAs)
        table.insert(grants, {first, waitingAs})
      else
        -- Kept for the run: its next pickup adopts it (an older one is fenced out by generation).
        redis.call('ZADD', KEYS[1], expiry, HANDOFF .. first)
        table.insert(wake, first)
      end
      free = free - 1
    end
  end
  if limit > 0 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, limit - 1)) do
      if id ~= asker and not redis.call('HGET', KEYS[5], 's:' .. id) then
        redis.call('HSET', KEYS[5], 's:' .. id, '=')
        table.insert(wake, id)
      end
    end
  end
  if #grants > 0 then
    redis.call('PUBLISH', channel, cjson.encode({t = 'grant', k = member, e = expiry, g = grants}))
  end
  return wake, askerGranted
end
`;

/**
 * ARGV 7..: holderId, waiterId, waiterTtlMs, queuedAtMs ('' = now), generation ('' = none),
 * inProcess ('1' when the asker then waits for the slot in its process).
 * Returns {status, retryAfterMs, position, coolingMs, now, wake...}; status 1 granted, 0 in line,
 * -1 superseded (a later generation of the run has asked).
 * A slot is granted when this attempt already holds it (an ask sent again), when one was handed
 * to the waiter while its run waited in the queue (adopted under this attempt's holder id), or when
 * a free slot reaches the waiter in line order. Otherwise the waiter joins or keeps its place.
 */
export const ACQUIRE = `${PRELUDE}
local holderId, waiterId = ARGV[7], ARGV[8]
local waiterTtl = tonumber(ARGV[9])
local queuedAt = tonumber(ARGV[10]) or now
local generation = tonumber(ARGV[11])
local inProcess = ARGV[12] == '1'
purge()
if redis.call('ZSCORE', KEYS[1], holderId) then
  redis.call('ZADD', KEYS[1], now + ttl, holderId)
  return reply({1, 0, 0, coolingMs(), now})
end
if generation then
  local latest = tonumber(redis.call('HGET', KEYS[5], 'g:' .. waiterId))
  if latest and generation < latest then return reply({-1, 0, 0, coolingMs(), now}) end
  redis.call('HSET', KEYS[5], 'g:' .. waiterId, generation)
  redis.call('ZADD', KEYS[7], now + keep, waiterId)
end
if redis.call('ZREM', KEYS[1], HANDOFF .. waiterId) == 1 then
  redis.call('ZADD', KEYS[1], now + ttl, holderId)
  return reply({1, 0, 0, coolingMs(), now})
end
redis.call('ZADD', KEYS[2], 'NX', queuedAt, waiterId)
redis.call('ZADD', KEYS[3], now + waiterTtl, waiterId)
if inProcess then redis.call('HSET', KEYS[5], 's:' .. waiterId, holderId) end
local wake, granted = handOff(waiterId, holderId)
if granted then return reply({1, 0, 0, coolingMs(), now}, wake) end
local position = redis.call('ZRANK', KEYS[2], waiterId)
if not inProcess then
  -- Near the front the asker handles its run now (waits in process or knowingly in the queue):
  -- no early wake-up for it. Further back it will be told when it moves up.
  if position < limit then redis.call('HSET', KEYS[5], 's:' .. waiterId, '=')
  else redis.call('HDEL', KEYS[5], 's:' .. waiterId) end
end
local cooling = coolingMs()
local retryAfter = cooling
if cooling == 0 then
  retryAfter = ttl
  local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if earliest[2] then retryAfter = math.max(1, tonumber(earliest[2]) - now) end
end
return reply({0, retryAfter, position, cooling, now}, wake)
`;

/**
 * ARGV 7..: waiterId, holderId, giveBack ('1' or '0'). The attempt `holderId` stopped waiting in its
 * process without taking a slot (timeout, abort): freed slots no longer go straight to it. A slot
 * that reached it before this (its notice may still be on the way) is kept for it, extended, when
 * giveBack is '0', or handed on to the next in line when '1'. Returns {held, now, wake...}: held is
 * 1 when the caller holds that slot now.
 */
export const STOP_WAITING = `${PRELUDE}
local waiterId, holderId, giveBack = ARGV[7], ARGV[8], ARGV[9] == '1'
purge()
if redis.call('HGET', KEYS[5], 's:' .. waiterId) == holderId then redis.call('HSET', KEYS[5], 's:' .. waiterId, '=') end
if not redis.call('ZSCORE', KEYS[1], holderId) then return reply({0, now}) end
if giveBack then
  redis.call('ZREM', KEYS[1], holderId)
  local wake = handOff(nil, nil)
  return reply({0, now}, wake)
end
redis.call('ZADD', KEYS[1], now + ttl, holderId)
return reply({1, now})
`;

/**
 * ARGV 7..: holderId. Takes a slot only if one is free for nobody else: after the line has been
 * served, fewer holders plus waiters than the limit, and no cool-down. Never joins the line. Used
 * for a run's extra (forEach) slots, which must not take a slot a waiting run is entitled to.
 * Returns {granted (0|1), now, wake...}.
 */
export const TRY_ACQUIRE_FREE = `${PRELUDE}
local holderId = ARGV[7]
purge()
if redis.call('ZSCORE', KEYS[1], holderId) then return reply({1, now}) end
local wake = handOff(nil, nil)
if coolingMs() > 0 or redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= limit then
  return reply({0, now}, wake)
end
redis.call('ZADD', KEYS[1], now + ttl, holderId)
return reply({1, now}, wake)
`;

/**
 * ARGV 7..: holderId, waiterId ('' for an extra slot). The heartbeat: extends a held lease, and
 * the run's generation fence with it. Returns {kept (0|1), coolingMs, now, wake...}: a lease that
 * is gone (expired or taken away) must be treated as lost. Also serves the line when expiries freed
 * slots (nobody releases those).
 */
export const REFRESH = `${PRELUDE}
local holderId, waiterId = ARGV[7], ARGV[8]
purge()
local kept = 0
if redis.call('ZSCORE', KEYS[1], holderId) then
  redis.call('ZADD', KEYS[1], now + ttl, holderId)
  if waiterId ~= '' then redis.call('ZADD', KEYS[7], 'XX', now + keep, waiterId) end
  kept = 1
end
local wake = handOff(nil, nil)
return reply({kept, coolingMs(), now}, wake)
`;

/**
 * ARGV 7..: holderId. Frees the slot and hands it to the next in line in the same step. Returns
 * {held (0|1), now, wake...}: whether the lease was still held (so the release is also the last
 * fencing check); a release sent again after a lost reply answers as the first one did.
 */
export const RELEASE = `${PRELUDE}
local holderId = ARGV[7]
purge()
local held = redis.call('ZREM', KEYS[1], holderId)
if held == 1 then
  redis.call('ZADD', KEYS[6], now + ttl, holderId)
elseif redis.call('ZSCORE', KEYS[6], holderId) then
  held = 1
end
local wake = handOff(nil, nil)
return reply({held, now}, wake)
`;

/**
 * ARGV 7..: waitMs. Starts or extends the key's cool-down (never shortens it) and tells every
 * process how much of it is left. Returns the cool-down left (ms).
 */
export const COOL_DOWN = `${PRELUDE}
local wanted = tonumber(ARGV[7])
local remaining = redis.call('PTTL', KEYS[4])
if wanted > remaining then
  redis.call('SET', KEYS[4], '1', 'PX', wanted)
  remaining = wanted
end
redis.call('PUBLISH', channel, cjson.encode({t = 'cool', k = member, ms = remaining, o = origin}))
return remaining
`;

/**
 * ARGV 7..: waiterId. Removes a waiter whose run gave up (failed, removed) with everything kept
 * for it; a slot already handed to it moves on to the next in line. Returns {now, wake...}.
 */
export const FORGET_WAITER = `${PRELUDE}
local waiterId = ARGV[7]
purge()
leaveLine(waiterId)
redis.call('HDEL', KEYS[5], 'g:' .. waiterId)
redis.call('ZREM', KEYS[7], waiterId)
redis.call('ZREM', KEYS[1], HANDOFF .. waiterId)
local wake = handOff(nil, nil)
return reply({now}, wake)
`;

/**
 * ARGV 7..: waiterId. For a caller that asked, was refused and then parked its run: whether a slot
 * is waiting for the waiter now (handed to it meanwhile, or free for it in line order, which this
 * step then hands to it). Returns {ready (0|1), now, wake...}; nothing is taken for the caller.
 */
export const WOULD_GRANT = `${PRELUDE}
local waiterId = ARGV[7]
purge()
local wake = handOff(nil, nil)
if redis.call('ZSCORE', KEYS[1], HANDOFF .. waiterId) then return reply({1, now}, wake) end
return reply({0, now}, wake)
`;
