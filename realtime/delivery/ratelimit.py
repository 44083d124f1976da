"""Per-channel rate limit: a token bucket in Redis, shared by every delivery worker."""

from __future__ import annotations

import time

from realtime.streams import key, redis_client

# KEYS[1] bucket hash; ARGV: rate per second, burst, now (s), tokens wanted.
# Returns {granted, milliseconds to wait for the next token}.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local wait = 0
if granted < wanted then wait = math.ceil((1 - (tokens - math.floor(tokens))) / rate * 1000) end
return {granted, wait}
"""


def tokens_take(channel: str, wanted: int, *, rate: float, burst: int) -> tuple[int, float]:
    """Takes up to ``wanted`` tokens; returns (granted, seconds until the next token)."""
    if rate <= 0 or wanted <= 0:
        return wanted, 0.0
    granted, wait_ms = redis_client().eval(
        _TOKEN_BUCKET, 1, key("ratelimit", channel), rate, max(burst, 1), time.time(), wanted
    )
    return int(granted), int(wait_ms) / 1000.0
