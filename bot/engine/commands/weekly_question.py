"""The member-led weekly question: the invited member's yes or no, then their question."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from bot.engine.commands.filing import WEEKLY_QUESTION
from bot.engine.registry import Awaiting, Registry
from bot.engine.services import rotation
from bot.engine.turn import Turn
from storage.models import OutboxMessage, QuestionTurn
from storage.statuses import ContextKind


async def invitation_answered(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
    if turn.member is None or not choice_ids:
        return
    found = await turn.session.get(QuestionTurn, int(row.context.get("turn_id", 0)))
    if found is None:
        return
    key = await rotation.answer_invitation(
        turn.session, found, turn.member, choice_ids[-1] == "accept", turn.services.clock.now()
    )
    if key:
        await turn.say(key, private=True)


def may_post(turn: Turn) -> ColumnElement[bool] | bool:
    """Whether :func:`weekly_question` may find a turn (for the engine's one query)."""
    if turn.member is None or turn.community is None:
        return False
    return rotation.any_awaited_turn(turn.member, turn.services.clock.now())


async def weekly_question(turn: Turn) -> Awaiting | None:
    if turn.member is None or turn.community is None:
        return None
    now = turn.services.clock.now()
    found = await rotation.awaited_turn(turn.session, turn.member, now)
    if found is None or found.answered_at is None:
        return None

    async def answer(text: str) -> None:
        assert turn.community is not None and turn.member is not None and found is not None
        await rotation.post_member_question(
            turn.session, turn.services.messenger, turn.community, found, turn.member, text, now
        )
        await turn.say("question.posted")

    return Awaiting(found.answered_at, answer, WEEKLY_QUESTION)


def register(registry: Registry) -> None:
    registry.on_choice(ContextKind.WEEKLY_QUESTION, invitation_answered)
    registry.awaiting(weekly_question, may_find=may_post)
