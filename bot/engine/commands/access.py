"""Who may run what: the facilitator check shared by facilitator-only commands."""

from __future__ import annotations

from bot.engine.services import directory
from bot.engine.turn import Turn


async def require_facilitator(turn: Turn, what: str) -> bool:
    """Refuse politely, naming who can do it."""
    if turn.member is not None and turn.member.is_facilitator:
        return True
    names: list[str] = []
    if turn.community is not None:
        names = [
            m.display_name for m in await directory.facilitators(turn.session, turn.community.id)
        ]
    await turn.say("error.facilitator_only", private=True, what=what, facilitators=names)
    return False
