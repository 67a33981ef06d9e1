"""What a member's first words after a re-opening message (WhatsApp's template) mean.

The template asks them to reply to receive what waits for them; whatever they write
then ("Hi, what is this about?") or the template's button they tap answers the
template, never a question they have not seen yet. Which message they are answering
is read from the outbox (the latest message delivered to them is the unanswered
re-opener), so a restart changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.engine.registry import Awaiting, Registry
from bot.engine.turn import Turn
from storage.models import OutboxMessage
from storage.statuses import ContextKind, OutboxStatus


async def latest_delivered(turn: Turn) -> OutboxMessage | None:
    """The message Indaba last delivered in this conversation."""
    event = turn.event
    return await turn.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.platform == event.platform,
            OutboxMessage.conversation_id == event.conversation.id,
            OutboxMessage.status == OutboxStatus.SENT,
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )


def _is_open_reopener(row: OutboxMessage | None) -> bool:
    return (
        row is not None
        and bool((row.options or {}).get("reopener"))
        and not (row.context or {}).get("answered_at")
    )


async def _answered(turn: Turn, row: OutboxMessage) -> None:
    """Mark the re-opener answered; say so only when nothing was waiting to go out."""
    now = turn.services.clock.now()
    row.context = {**(row.context or {}), "answered_at": now.isoformat()}
    event = turn.event
    waiting = await turn.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.platform == event.platform,
            OutboxMessage.conversation_id == event.conversation.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    if not waiting:
        await turn.say("reopener.nothing_waiting")


def may_reopen(turn: Turn) -> bool:
    """Re-openers are only sent where the platform has a reply window."""
    if turn.in_group or turn.member is None:
        return False
    return turn.services.outbox.capabilities(turn.event.platform).reply_window is not None


async def reopener_awaiting(turn: Turn) -> Awaiting | None:
    """The member's text answers the re-opener when that is the last thing they got."""
    if turn.in_group or turn.member is None:
        return None
    row = await latest_delivered(turn)
    if row is None or not _is_open_reopener(row):
        return None
    asked_at: datetime = row.sent_at or row.created_at

    async def answer(_text: str) -> None:
        await _answered(turn, row)

    return Awaiting(asked_at, answer)


async def reopener_pressed(turn: Turn, row: OutboxMessage, _choices: tuple[str, ...]) -> None:
    """A tap on the template's button: the window is open and the held messages go."""
    if _is_open_reopener(row):
        await _answered(turn, row)


def register(registry: Registry) -> None:
    registry.awaiting(reopener_awaiting, may_find=may_reopen)
    registry.on_choice(ContextKind.REOPENER, reopener_pressed)
