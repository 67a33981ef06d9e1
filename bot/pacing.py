"""Pacing for adapters: rate windows and token buckets that keep sends under a platform's
limits, alone or with a budget shared by every process sending with the same token.

The platforms count sends in a moving window ("30 messages per second", "20 per minute
to a group"): :class:`RateWindow` counts the same way, so it allows the platform's whole
burst at once and never more than the limit in any window. Given a
:class:`SharedBudget` (``RateWindow.share``), the window is counted by every process
sharing the key (replicas sending with one bot token); when the shared store cannot
answer, each process paces itself with its own window, as it would alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable


class SharedBudget(Protocol):
    """A rate budget several processes count together (``bot.runtime.budget``)."""

    async def take(self, key: str, limit: int, per: float) -> float | None:
        """Take one send from ``key``'s budget of ``limit`` per ``per`` seconds.

        Returns 0.0 when taken, otherwise how many seconds to wait before asking again;
        None when the shared store cannot answer (the caller paces itself).
        """
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """The platform said wait: no process sends on ``key`` for ``seconds``."""
        ...


@runtime_checkable
class SharesBudget(Protocol):
    """An adapter whose limits can be counted with other processes' (the wiring calls
    ``share_budget`` before ``start``)."""

    def share_budget(self, budget: SharedBudget) -> None: ...


class RateWindow:
    """At most ``limit`` sends in any ``per`` seconds.

    ``async with window.sending():`` around the request: a send takes a place in the
    window when it leaves and keeps it until ``per`` seconds after its answer came
    back. The platform counts a send when it arrives, which is between the two, so
    however long a send is held up on its way (a busy machine, a slow connection), it
    never lands in the same window as the ones that follow it past the limit.

    Shared with other processes (``share``), the window is also counted in the budget,
    where a send is counted when it leaves: there ``margin`` (5 %, at least one send:
    28 of Telegram's 30, 76 of WhatsApp's 80) is kept free for sends held up on their
    way from another process.
    """

    def __init__(self, limit: float, per: float = 1.0, *, margin: float = 0.05) -> None:
        if limit < 1:  # "one every so often": 0.5 a second is one per 2 seconds
            limit, per = 1, per / limit
        self.limit = int(limit)
        self.shared_limit = (
            self.limit - max(1, math.ceil(self.limit * margin)) if self.limit > 1 else self.limit
        )
        self.per = per
        # When the sends of the last ``per`` seconds were answered, and how many are out.
        self._answered: deque[float] = deque()
        self._out = 0
        self._came_back = asyncio.Event()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._budget: SharedBudget | None = None
        self._key = ""
        # A pause the platform asked for, still to be told to the shared budget.
        self._pause_to_share = 0.0

    def share(self, budget: SharedBudget | None, key: str) -> None:
        """Count this window in ``budget`` under ``key`` (None: this process alone)."""
        self._budget = budget
        self._key = key

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """Wait for room, then hold a place in the window while the send is made."""
        await self._reserve()
        try:
            yield
        finally:
            self._out -= 1
            self._answered.append(time.monotonic())
            self._came_back.set()

    async def acquire(self) -> None:
        """Wait for room and count a send leaving now (when its answer is not seen)."""
        async with self.sending():
            pass

    async def _reserve(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if self._paused_until > now:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                wait = self._room(now)
                if wait is None:  # every place is held by a send still out
                    self._came_back.clear()
                    await self._came_back.wait()
                    continue
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                if self._budget is not None:
                    if self._pause_to_share > 0:
                        seconds, self._pause_to_share = self._pause_to_share, 0.0
                        await self._budget.pause(self._key, seconds)
                    shared = await self._budget.take(self._key, self.shared_limit, self.per)
                    if shared is not None and shared > 0:
                        await asyncio.sleep(shared)
                        continue
                self._out += 1
                return

    def _room(self, now: float) -> float | None:
        """Seconds until this process's window has room: 0 when it has now, None when
        it waits for a send to come back first."""
        answered = self._answered
        while answered and answered[0] <= now - self.per:
            answered.popleft()
        if self._out + len(answered) < self.limit:
            return 0.0
        if not answered:
            return None
        return answered[0] + self.per - now

    def penalise(self, seconds: float) -> None:
        """The platform said wait: nothing is sent for ``seconds`` (by any process
        sharing the budget, from this process's next send on)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        if self._budget is not None:
            self._pause_to_share = max(self._pause_to_share, seconds)


@contextlib.asynccontextmanager
async def sending_all(*windows: RateWindow) -> AsyncIterator[None]:
    """Hold a place in each of ``windows`` (in order) for one send; every place is
    given back when it ends, whatever happened."""
    async with contextlib.AsyncExitStack() as stack:
        for window in windows:
            await stack.enter_async_context(window.sending())
        yield


class KeyedWindows:
    """One :class:`RateWindow` per key (per chat, per member); least recently used ones
    forgotten."""

    def __init__(self, limit: float, per: float = 1.0, size: int = 10_000) -> None:
        self._args = (limit, per)
        self._size = size
        self._windows: OrderedDict[str, RateWindow] = OrderedDict()
        self._budget: SharedBudget | None = None
        self._prefix = ""

    def share(self, budget: SharedBudget | None, prefix: str) -> None:
        """Count each key's window in ``budget`` under ``prefix:key``."""
        self._budget = budget
        self._prefix = prefix
        for key, window in self._windows.items():
            window.share(budget, f"{prefix}:{key}")

    def bucket(self, key: str) -> RateWindow:
        window = self._windows.get(key)
        if window is None:
            window = RateWindow(*self._args)
            if self._budget is not None:
                window.share(self._budget, f"{self._prefix}:{key}")
            self._windows[key] = window
            if len(self._windows) > self._size:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        return window

    async def acquire(self, key: str) -> None:
        await self.bucket(key).acquire()

    def sending(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self.bucket(key).sending()


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
