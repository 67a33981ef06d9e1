"""What an operator can do to a running Indaba: used by the console and by tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Control(Protocol):
    def now(self) -> datetime: ...

    async def advance(self, delta: timedelta) -> datetime:
        """Move the virtual clock forward and play out the timetable."""
        ...

    async def settle(self) -> None:
        """Run what is due and deliver everything the outbox holds now."""
        ...

    async def create_community(
        self, name: str, timezone: str, language: str = "en"
    ) -> tuple[str, str]:
        """Create a community; return its one-time facilitator code and a join code."""
        ...

    async def describe(self) -> str:
        """A few lines on communities, the next meetings and the outbox."""
        ...


class ControlledAdapter(Protocol):
    """An adapter that drives Indaba itself (the console)."""

    def attach(self, control: Control) -> None: ...

    async def run_until_done(self) -> None: ...
