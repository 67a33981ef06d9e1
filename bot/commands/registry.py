"""The command registry: one entry per ``/command``, the same on every platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.turn import Turn

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
JoinHook = Callable[[Any, Any, Any], Awaitable[None]]
JOIN_HOOKS: list[JoinHook] = []


def on_choice(kind: str) -> Callable[[ChoiceHandler], ChoiceHandler]:
    def register(handler: ChoiceHandler) -> ChoiceHandler:
        CHOICE_HANDLERS[kind] = handler
        return handler

    return register


def on_join(hook: JoinHook) -> JoinHook:
    """Register ``hook(engine, session, community, member)``... see Engine.welcome."""
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
    from bot.services import directory

    names: list[str] = []
    if turn.community is not None:
        names = [
            m.display_name for m in await directory.facilitators(turn.session, turn.community.id)
        ]
    await turn.say("error.facilitator_only", private=True, what=what, facilitators=names)
    return False
