"""Pacing for adapters: token buckets that keep sends under a platform's limits."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict


class TokenBucket:
    """``rate`` tokens per ``per`` seconds with bursts of ``burst``; ``acquire`` waits."""

    def __init__(self, rate: float, per: float = 1.0, burst: float | None = None) -> None:
        self.rate = rate / per
        self.capacity = burst if burst is not None else max(rate, 1.0)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def penalise(self, seconds: float) -> None:
        """The platform said wait: empty the bucket for that long."""
        self._refill()
        self._tokens = min(self._tokens, 0) - seconds * self.rate


class KeyedBuckets:
    """One bucket per key (per chat, per member), least recently used ones forgotten."""

    def __init__(
        self, rate: float, per: float = 1.0, burst: float | None = None, size: int = 10_000
    ) -> None:
        self._args = (rate, per, burst)
        self._size = size
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(*self._args)
            self._buckets[key] = bucket
            if len(self._buckets) > self._size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    async def acquire(self, key: str) -> None:
        await self.bucket(key).acquire()
