"""/brief: the answers so far for the next meeting, for its facilitators."""

from __future__ import annotations

from bot.engine.services.brief import brief_message
from bot.engine.services.meetings import next_meeting
from bot.engine.turn import Turn
from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope


async def brief_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    found = await brief_message(
        turn.session,
        turn.services.texts,
        turn.community,
        meeting,
        turn.language,
        turn.services.links,
        now,
    )
    if found.attachment is None:
        await turn.reply(found.text, private=True)
        return
    event = turn.event
    # With its file, always to the facilitator's direct messages: an ephemeral group
    # reply cannot carry a file on every platform.
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            f"brief-file:{meeting.id}:{event.platform}:{event.conversation.id}:"
            f"{event.message_id or now.isoformat()}",
            OutgoingMessage(
                address=Address(event.platform, ConversationKind.DM, event.sender.user_id),
                text=found.text,
                attachment=found.attachment,
            ),
            community_id=turn.community.id,
            member_id=turn.member.id if turn.member else None,
        ),
    )
