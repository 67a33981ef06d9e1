"""The command registry: one entry per ``/command``, the same on every platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.engine.turn import Turn

Handler = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    usage: str
    facilitator_only: bool = False
    # False for commands that work before the sender belongs to a community.
    needs_member: bool = True
    hidden: bool = False


COMMANDS: dict[str, Command] = {}

# What a choice (button, poll answer, numbered reply) means, by the ``kind`` of the
# context stored with the message that offered it. A handler gets the turn, the
# outbox row of that message and the member's whole current selection.
ChoiceHandler = Callable[[Turn, Any, tuple[str, ...]], Awaitable[None]]
CHOICE_HANDLERS: dict[str, ChoiceHandler] = {}

# Called once when someone becomes a member (welcome extras, wall invitation...).
JoinHook = Callable[[Any, Any, Any, Any], Awaitable[None]]
JOIN_HOOKS: list[JoinHook] = []


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A question Indaba put to a member in their DM and is waiting for text to answer.

    ``asked_at`` lets the engine route plain text to the most recent question (a wall
    question, a weekly question turn, or the open pre-meeting question).
    """

    asked_at: datetime
    answer: Callable[[str], Awaitable[None]]


# Each probe looks at the turn's member and returns what it awaits from them, if anything.
AwaitingProbe = Callable[[Turn], Awaitable[Awaiting | None]]
AWAITING: list[AwaitingProbe] = []


def awaiting(probe: AwaitingProbe) -> AwaitingProbe:
    AWAITING.append(probe)
    return probe


def on_choice(kind: str) -> Callable[[ChoiceHandler], ChoiceHandler]:
    def register(handler: ChoiceHandler) -> ChoiceHandler:
        CHOICE_HANDLERS[kind] = handler
        return handler

    return register


def on_join(hook: JoinHook) -> JoinHook:
    """Register ``hook(engine, session, community, member)``, awaited by Engine.welcome."""
    JOIN_HOOKS.append(hook)
    return hook


def command(
    name: str,
    *,
    usage: str = "",
    facilitator_only: bool = False,
    needs_member: bool = True,
    aliases: tuple[str, ...] = (),
    hidden: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        entry = Command(name, handler, usage or f"/{name}", facilitator_only, needs_member, hidden)
        COMMANDS[name] = entry
        for alias in aliases:
            COMMANDS[alias] = Command(
                alias, handler, entry.usage, facilitator_only, needs_member, True
            )
        return handler

    return register


async def require_facilitator(turn: Turn, what: str) -> bool:
    """Refuse politely, naming who can do it."""
    if turn.member is not None and turn.member.is_facilitator:
        return True
    from bot.engine.services import directory

    names: list[str] = []
    if turn.community is not None:
        names = [
            m.display_name for m in await directory.facilitators(turn.session, turn.community.id)
        ]
    await turn.say("error.facilitator_only", private=True, what=what, facilitators=names)
    return False
