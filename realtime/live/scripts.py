"""The Lua scripts of the live driver: every step that must check the lease runs in Redis.

A lease's value is its *token* ``worker|epoch``; the scripts compare it with the caller's token
before doing anything, which is what fences out a worker that lost its lease while paused.
"""

from __future__ import annotations

#: KEYS: lease, epoch counter, event stream. ARGV: worker id, ttl ms, group.
#: Returns the epoch now held (an existing lease of the same worker is extended), 0 when taken.
ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current then
  local owner, epoch = string.match(current, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(epoch)
  end
  return 0
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
redis.pcall('XGROUP', 'CREATE', KEYS[3], ARGV[3], '0', 'MKSTREAM')
return epoch
"""

#: KEYS: leases. ARGV: ttl ms, then one token per lease. Returns 1/0 per lease (still held).
RENEW = """
local held = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
"""

#: KEYS: leases. ARGV: one token per lease. Deletes the leases still held by those tokens.
RELEASE = """
local released = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
return released
"""

#: Fenced read. KEYS: lease_1, stream_1, lease_2, stream_2, ... and optionally, last, the
#: campaigns version counter (its value is then appended to the reply: hot reload rides along
#: with every read instead of costing a round trip of its own).
#: ARGV: group, count, then per partition: token, consumer, start id (">" or a pending-list id).
#: Returns per partition either 0 (lease lost: nothing read) or the list of [id, fields] entries.
READ = """
local out = {}
local n = math.floor(#KEYS / 2)
for i = 1, n do
  local base = 3 + (i - 1) * 3
  if redis.call('GET', KEYS[2 * i - 1]) ~= ARGV[base] then
    out[i] = 0
  else
    local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[base + 1], 'COUNT', ARGV[2],
                             'STREAMS', KEYS[2 * i], ARGV[base + 2])
    if reply and reply[1] then
      local entries = reply[1][2]
      for j = 1, #entries do
        if not entries[j][2] then entries[j][2] = {} end
      end
      out[i] = entries
    else
      out[i] = {}
    end
  end
end
if #KEYS > 2 * n then out[n + 1] = redis.call('GET', KEYS[#KEYS]) or '0' end
return out
"""

#: The checkpoint of one batch of one partition, atomically and only for the lease holder.
#: KEYS: lease, offset, state hash, event stream, decisions stream, dead stream, derived stream,
#:       then the counter hashes (referenced by index from ARGV).
#: ARGV: token, new offset ("" keeps it), group, then sections, each a count then its items:
#:   state set (customer, blob)*, state delete (customer)*, acks (id)*,
#:   decisions (id, campaign, outcome, customer)*, dead (id, event json, error, tries)*,
#:   derived (event json)*, counters (key index, field, amount, ttl seconds or 0)*.
#: Returns 1, or 0 when the lease is no longer the caller's (nothing written).
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
local i = 4
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HDEL', KEYS[3], ARGV[i]); i = i + 1 end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local ids = {}
  for j = 1, n do ids[j] = ARGV[i + j - 1] end
  for j = 1, n, 1000 do
    redis.call('XACK', KEYS[4], ARGV[3], unpack(ids, j, math.min(j + 999, n)))
  end
  i = i + n
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('XADD', KEYS[5], '*', 'd', ARGV[i], 'campaign', ARGV[i + 1], 'outcome', ARGV[i + 2],
             'customer', ARGV[i + 3])
  i = i + 4
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('XADD', KEYS[6], '*', 'id', ARGV[i], 'e', ARGV[i + 1], 'error', ARGV[i + 2],
             'tries', ARGV[i + 3])
  i = i + 4
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('XADD', KEYS[7], '*', 'e', ARGV[i]); i = i + 1 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local counter = KEYS[7 + tonumber(ARGV[i])]
  redis.call('HINCRBY', counter, ARGV[i + 1], ARGV[i + 2])
  if ARGV[i + 3] ~= '0' then redis.call('EXPIRE', counter, ARGV[i + 3]) end
  i = i + 4
end
return 1
"""

#: KEYS: budget counter. ARGV: limit, chunk, spread. Takes up to ``chunk`` units (one at a time
#: once fewer than chunk * spread are left); returns how many were taken (0: exhausted).
BUDGET_RESERVE = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = tonumber(ARGV[1]) - spent
if left <= 0 then return 0 end
local take = tonumber(ARGV[2])
if left < take * tonumber(ARGV[3]) then take = 1 end
redis.call('INCRBY', KEYS[1], take)
return take
"""

#: KEYS: budget counter. ARGV: units reserved and not spent. Gives them back.
BUDGET_GIVE_BACK = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local units = math.min(tonumber(ARGV[1]), spent)
if units > 0 then redis.call('DECRBY', KEYS[1], units) end
return units
"""

#: KEYS: budget counter. ARGV: limit. Atomic "take one unit if any is left": 1 taken, 0 not.
BUDGET_SPEND = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
return 1
"""
