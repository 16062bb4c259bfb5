"""Fixed-window counters in the shared cache (Redis in production), so every process counts together."""

from __future__ import annotations

import math
import time

from django.core.cache import cache

# One round trip: count, open the window on the first use, and say how long the window has left when over.
_CONSUME_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if used <= tonumber(ARGV[2]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return left
"""


def _redis_client(key: str):
    """The Redis client behind Django's Redis cache, or None for another cache (tests, development). Kept
    on the cache's client object: Django makes a new one (over the same pool) on every call."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    if get_client is None:
        return None
    client = backend.__dict__.get("_ratelimit_client")
    if client is None:
        client = backend._ratelimit_client = get_client(key, write=True)
    return client


def consume(key: str, *, limit: int, window: int) -> int:
    """Count one use of ``key``: 0 while within ``limit`` uses per ``window`` seconds, otherwise the
    seconds to wait. The first use opens the window."""
    full_key = cache.make_and_validate_key(key)
    client = _redis_client(full_key)
    if client is not None:
        left_ms = int(client.eval(_CONSUME_SCRIPT, 1, full_key, window * 1000, limit))
        return max(1, math.ceil(left_ms / 1000)) if left_ms else 0
    return _consume_in_cache(key, limit=limit, window=window)


def _consume_in_cache(key: str, *, limit: int, window: int) -> int:
    """The same count through the cache's own interface (several round trips; any cache backend)."""
    now = time.time()
    cache.add(f"{key}:start", now, window)
    cache.add(key, 0, window)
    try:
        used = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(f"{key}:start", now, window)
        cache.set(key, 1, window)
        used = 1
    if used == 1:  # a counter created by incr itself (the key expired in between) must expire too
        cache.touch(key, window)
    if used <= limit:
        return 0
    started = cache.get(f"{key}:start") or now
    return max(1, int(window - (now - started)) + 1)
