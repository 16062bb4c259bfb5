"""Fixed-window counters in the shared cache (Redis in production), so every process counts together."""

from __future__ import annotations

import time

from django.core.cache import cache


def consume(key: str, *, limit: int, window: int) -> int:
    """Count one use of ``key``: 0 while within ``limit`` uses per ``window`` seconds, otherwise the
    seconds to wait. The first use opens the window."""
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
