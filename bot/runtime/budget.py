"""A rate budget shared by every replica: moving windows counted on Redis.

Each platform limit (Telegram's 30 messages a second per bot, one a second per chat,
WhatsApp's 80 a second per number…) is a moving window kept by the ``limits`` library
in Redis (its atomic Lua script: at most ``limit`` entries younger than the window), under
a key naming the token's hash, never the token. Processes that share a token share the
window, so two replicas together stay under the platform's ceiling instead of each
taking all of it. A 429's wait is shared too (a key that expires when the wait ends).

When Redis cannot answer, :meth:`RedisBudget.take` says so (None) and each process paces
itself with its own windows, as it would alone; one WARNING line says so, one INFO line
when Redis is back (tried again every ``retry_seconds``).
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit, urlunsplit

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

log = logging.getLogger(__name__)

PREFIX = "indaba"
# How soon a process that lost Redis asks it again.
RETRY_SECONDS = 30.0
# Each answer must come back quickly: pacing waits on it.
SOCKET_TIMEOUT = 1.0


def window_in_seconds(limit: int, per: float) -> tuple[int, int]:
    """``limit`` per ``per`` seconds as sends per whole seconds (what Redis keys expire
    in), never more than the original over any window."""
    seconds = max(math.ceil(per), 1)
    return max(math.floor(limit * seconds / per), 1), seconds


def redacted(url: str) -> str:
    """``url`` without its password, for the log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class RedisBudget:
    """The :class:`bot.pacing.SharedBudget` of every process pointed at one Redis."""

    def __init__(
        self, url: str, *, prefix: str = PREFIX, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self._url = url
        self._prefix = prefix
        # One connection pool for both: the windows (the limits library) and the pauses
        # (a 429's wait, plain expiring keys beside them).
        self._redis = Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        # redis:// for the operator; the limits library names its asyncio flavour.
        storage_url = f"async+redis+{url}" if url.startswith("unix://") else f"async+{url}"
        self._storage = RedisStorage(
            storage_url,
            implementation="redispy",
            key_prefix=prefix,
            wrap_exceptions=True,
            # Typed as plain values there, handed to redis-py's client as they are.
            connection_pool=self._redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._retry = retry_seconds
        self._down_until = 0.0
        self._down = False

    @property
    def available(self) -> bool:
        """Whether the last question to Redis was answered."""
        return not self._down

    async def check(self) -> bool:
        """Ask Redis once (at start): True when it answers."""
        try:
            await self._redis.pttl(f"{self._prefix}:ping")
        except Exception as error:
            self._lost(error)
            return False
        self._back()
        return True

    async def take(self, key: str, limit: int, per: float) -> float | None:
        if self._down and time.monotonic() < self._down_until:
            return None
        amount, seconds = window_in_seconds(limit, per)
        item = RateLimitItemPerSecond(amount, seconds)
        try:
            paused = await self._redis.pttl(f"{self._prefix}:pause:{key}")
            if paused > 0:
                self._back()
                return float(paused) / 1000
            if await self._limiter.hit(item, key):
                self._back()
                return 0.0
            stats = await self._limiter.get_window_stats(item, key)
        except Exception as error:  # the limits library's StorageError, or the client's
            self._lost(error)
            return None
        self._back()
        return max(stats.reset_time - time.time(), 0.001)

    async def pause(self, key: str, seconds: float) -> None:
        if self._down and time.monotonic() < self._down_until:
            return
        try:
            # Only ever lengthen a pause another process set.
            milliseconds = max(int(seconds * 1000), 1)
            current = await self._redis.pttl(f"{self._prefix}:pause:{key}")
            if current < milliseconds:
                await self._redis.set(f"{self._prefix}:pause:{key}", "1", px=milliseconds)
        except Exception as error:
            self._lost(error)

    def _lost(self, error: BaseException) -> None:
        self._down_until = time.monotonic() + self._retry
        if not self._down:
            self._down = True
            reason = type(error.__cause__ or error).__name__
            log.warning(
                "Redis at %s cannot be reached (%s): each process paces its own sends "
                "until it is back (asked again every %.0f s)",
                redacted(self._url),
                reason,
                self._retry,
            )

    def _back(self) -> None:
        if self._down:
            self._down = False
            log.info("Redis at %s answers again: sends are paced together", redacted(self._url))

    async def aclose(self) -> None:
        try:
            await self._redis.aclose()
            await self._redis.connection_pool.disconnect()
        except Exception as error:
            log.debug("closing the Redis connection: %s", error)
