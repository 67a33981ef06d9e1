"""The registry: every ``/command``, choice handler, join hook and awaiting probe.

One :class:`Registry` instance is built by the wiring (``bot.engine.commands.build_registry``)
and handed to the engine, as slack-bolt keeps listeners on its ``App`` and
python-telegram-bot keeps handlers on its ``Application``. Nothing is registered as a
side effect of importing a module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import CommandInfo
from bot.engine.context import Services
from bot.engine.turn import Turn
from storage.models import Community, Member, OutboxMessage
from storage.statuses import ContextKind

CommandHandler = Callable[[Turn, str], Awaitable[None]]

# What a choice (button, poll answer, numbered reply) means, by the ``kind`` of the
# context stored with the message that offered it. A handler gets the turn, the
# outbox row of that message and the member's whole current selection.
ChoiceHandler = Callable[[Turn, OutboxMessage, tuple[str, ...]], Awaitable[None]]

# Awaited once when someone becomes a member (welcome extras, wall invitation...).
JoinHook = Callable[[Services, AsyncSession, Community, Member], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A question Indaba put to a member in their DM and is waiting for text to answer.

    ``asked_at`` lets the engine route plain text to the most recent question (a wall
    question, a weekly question turn, or the open pre-meeting question).
    """

    asked_at: datetime
    answer: Callable[[str], Awaitable[None]]
    # What the text becomes (an ``ItemKind`` value, or "weekly-question"), so junk is
    # held back before it is kept; None when the text is not kept (the re-opener).
    kind: str | None = None


# Each probe looks at the turn's member and returns what it awaits from them, if anything.
AwaitingProbe = Callable[[Turn], Awaitable[Awaiting | None]]

# Whether a probe may find something: a condition its own lookup implies (an EXISTS),
# asked of the database for every probe in one query, or a plain yes or no. A probe
# is only run when it may find something.
ProbeFilter = Callable[[Turn], ColumnElement[bool] | bool]


@dataclass(frozen=True, slots=True)
class Command:
    info: CommandInfo
    handler: CommandHandler

    @property
    def name(self) -> str:
        return self.info.name


@dataclass(slots=True)
class Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    choice_handlers: dict[ContextKind, ChoiceHandler] = field(default_factory=dict)
    join_hooks: list[JoinHook] = field(default_factory=list)
    probes: list[AwaitingProbe] = field(default_factory=list)
    probe_filters: dict[AwaitingProbe, ProbeFilter] = field(default_factory=dict)

    def command(
        self,
        name: str,
        handler: CommandHandler,
        *,
        usage: str = "",
        summary: str = "",
        facilitator_only: bool = False,
        needs_member: bool = True,
        aliases: Iterable[str] = (),
        hidden: bool = False,
        group: bool = True,
    ) -> None:
        """Register ``/name``; ``needs_member`` false for commands that work before joining,
        ``group`` false for commands only offered in a DM."""
        if name in self.commands:
            raise ValueError(f"/{name} is registered twice")
        info = CommandInfo(
            name,
            usage or f"/{name}",
            summary,
            facilitator_only,
            needs_member,
            hidden,
            group,
        )
        self.commands[name] = Command(info, handler)
        for alias in aliases:
            self.command(
                alias,
                handler,
                usage=info.usage,
                facilitator_only=facilitator_only,
                needs_member=needs_member,
                hidden=True,
                group=group,
            )

    def on_choice(self, kind: ContextKind, handler: ChoiceHandler) -> None:
        if kind in self.choice_handlers:
            raise ValueError(f"choices of {kind} have a handler already")
        self.choice_handlers[kind] = handler

    def on_join(self, hook: JoinHook) -> None:
        self.join_hooks.append(hook)

    def awaiting(self, probe: AwaitingProbe, *, may_find: ProbeFilter | None = None) -> None:
        self.probes.append(probe)
        if may_find is not None:
            self.probe_filters[probe] = may_find

    def find(self, name: str) -> Command | None:
        return self.commands.get(name)

    def visible(self) -> tuple[CommandInfo, ...]:
        """Every command a member can be shown (aliases and hidden ones left out), by name."""
        return tuple(
            sorted(
                (c.info for c in self.commands.values() if not c.info.hidden), key=lambda i: i.name
            )
        )

    def with_summaries(self, summary: Callable[[str], str]) -> tuple[CommandInfo, ...]:
        """:meth:`visible`, each with its one-line help text (``summary(name)``)."""
        from dataclasses import replace

        return tuple(
            replace(info, summary=summary(info.name) or info.usage) for info in self.visible()
        )
