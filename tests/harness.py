"""A whole Indaba on a virtual clock, driven like a member would drive it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.memory import MemoryAdapter
from adapters.memory.adapter import Sent
from bot.adapter import Adapter
from bot.app.settings import Settings
from bot.app.wiring import Indaba
from bot.messages import (
    CommandInvoked,
    Conversation,
    ConversationKind,
    MessageReceived,
    Sender,
    parse_command,
)
from bot.runtime.clock import VirtualClock
from storage.models import Base

# A Monday morning, so weekly steps line up predictably.
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


class Harness:
    def __init__(self, indaba: Indaba, clock: VirtualClock, adapter: MemoryAdapter) -> None:
        self.indaba = indaba
        self.clock = clock
        self.adapter = adapter
        self._ids = itertools.count(1)

    @classmethod
    async def create(
        cls,
        database_url: str,
        tmp_path: Path,
        *,
        adapters: list[Adapter] | None = None,
        start: datetime = START,
        **settings: Any,
    ) -> Harness:
        memory = MemoryAdapter()
        clock = VirtualClock(start)
        config = Settings(
            database_url=database_url, data_dir=tmp_path, delivery_lease_seconds=5, **settings
        )
        indaba = Indaba(config, adapters if adapters is not None else [memory], clock=clock)
        async with indaba.db.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        # Delivery and the timetable are driven by the test, not by background tasks.
        await indaba.start(deliver=False, schedule=False)
        driven = next((a for a in indaba.adapters.values() if isinstance(a, MemoryAdapter)), memory)
        return cls(indaba, clock, driven)

    async def aclose(self) -> None:
        await self.indaba.aclose()

    # -- acting --------------------------------------------------------------------

    async def create_community(
        self, name: str = "Lagos Civic Tech", timezone: str = "Africa/Lagos", language: str = "en"
    ) -> tuple[str, str]:
        return await self.indaba.create_community(name, timezone, language)

    def conversation(self, where: str, user: str) -> Conversation:
        platform = self.adapter.name
        if where == "dm":
            return Conversation(platform, user, ConversationKind.DM)
        return Conversation(platform, where, ConversationKind.GROUP, where)

    async def say(
        self, user: str, text: str, where: str = "dm", *, reply_to: str | None = None
    ) -> list[Sent]:
        """``user`` writes ``text`` in ``where`` (``dm`` or a group id); returns what was sent."""
        sender = Sender(self.adapter.name, user, user.capitalize())
        conversation = self.conversation(where, user)
        message_id = f"in{next(self._ids)}"
        parsed = parse_command(text)
        if parsed is not None:
            event: Any = CommandInvoked(
                conversation, sender, message_id, command=parsed[0], args=parsed[1]
            )
        else:
            event = MessageReceived(
                conversation, sender, message_id, text=text, reply_to_id=reply_to
            )
        await self.adapter.push(event)
        return await self.settle()

    async def settle(self) -> list[Sent]:
        await self.indaba.settle()
        return self.adapter.pop()

    async def advance(self, **delta: float) -> list[Sent]:
        await self.indaba.advance(timedelta(**delta))
        return await self.settle()

    async def setup_community(
        self, members: tuple[str, ...] = ("amina", "kwame", "thandi"), group: str = "#cop"
    ) -> tuple[str, str]:
        """A community with a linked group, facilitator ``fatima`` and ``members``."""
        setup, join = await self.create_community()
        await self.say("fatima", f"/setup {setup}", group)
        for member in members:
            await self.say(member, f"hello from {member}", group)
        self.adapter.pop()
        return setup, join


def texts(sent: list[Sent]) -> list[str]:
    return [s.message.text for s in sent]


def to(sent: list[Sent], conversation_id: str) -> list[str]:
    return [s.message.text for s in sent if s.message.address.conversation_id == conversation_id]
