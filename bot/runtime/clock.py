"""Clocks: the system clock in production, a virtual clock for the console and tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def to_real(self, when: datetime) -> datetime:
        """The wall-clock instant at which ``when`` (in this clock's time) arrives."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_real(self, when: datetime) -> datetime:
        return when


Listener = Callable[[datetime], Awaitable[None]]


class VirtualClock:
    """Runs with the wall clock from an offset that ``advance`` moves forward.

    Listeners are awaited after each jump, so the timetable plays out everything that
    fell due in the skipped time, in order, before ``advance`` returns.
    """

    def __init__(self, start: datetime | None = None) -> None:
        real = datetime.now(UTC)
        self._offset = (start - real) if start is not None else timedelta(0)
        self._listeners: list[Listener] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def to_real(self, when: datetime) -> datetime:
        return when - self._offset

    def on_advance(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += delta
        now = self.now()
        for listener in self._listeners:
            await listener(now)
        return now

    async def set(self, when: datetime) -> datetime:
        return await self.advance(max(when - self.now(), timedelta(0)))
