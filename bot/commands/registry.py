"""The command registry: one entry per ``/command``, the same on every platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
