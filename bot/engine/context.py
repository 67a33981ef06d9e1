"""What a handler sees of Indaba: a narrow set of services, not the engine itself.

:class:`Services` is a protocol the engine satisfies; handlers (commands, choice
handlers, join hooks, awaiting probes) and :class:`~bot.engine.turn.Turn` depend on
this module only, so no import circle can form between the engine and its handlers.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import CommandInfo
from bot.engine.services.links import Links
from bot.engine.services.messenger import Messenger
from bot.engine.services.questions import QuestionService
from bot.engine.texts import Texts
from bot.runtime.clock import Clock
from bot.runtime.outbox import Outbox
from storage.models import Community, Member


class Services(Protocol):
    """The few things a turn's handlers use."""

    @property
    def clock(self) -> Clock: ...

    @property
    def texts(self) -> Texts: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def messenger(self) -> Messenger: ...

    @property
    def questions(self) -> QuestionService: ...

    @property
    def links(self) -> Links | None:
        """Signs the meeting pack's links (None when no pages are served)."""
        ...

    @property
    def join_code_days(self) -> int:
        """How long a new join code lasts."""
        ...

    def commands(self) -> tuple[CommandInfo, ...]:
        """Every command a member can be shown, by name."""
        ...

    def command(self, name: str) -> CommandInfo | None:
        """The command (or alias) called ``name``."""
        ...

    async def welcome(self, session: AsyncSession, community: Community, member: Member) -> None:
        """Welcome a new member: the welcome DM, questions still open, the join hooks."""
        ...
