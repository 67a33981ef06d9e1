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


def parse_duration(text: str) -> timedelta:
    """Parse ``+7d``, ``2h``, ``30m``, ``1w``, ``3d12h`` into a timedelta."""
    import re

    spec = text.strip().lstrip("+")
    parts = re.findall(r"(\d+)\s*([wdhms])", spec)
    if not parts or "".join(n + u for n, u in parts) != spec.replace(" ", ""):
        raise ValueError(f"not a duration: {text!r} (try +7d, +12h, +30m, +1w)")
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    kwargs: dict[str, float] = {}
    for number, unit in parts:
        kwargs[units[unit]] = kwargs.get(units[unit], 0) + int(number)
    return timedelta(**kwargs)
