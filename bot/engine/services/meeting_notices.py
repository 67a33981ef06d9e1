"""Telling members that a meeting was cancelled or moved, each in their language.

Every active member gets a direct message (the moved one with the new invitation
attached), at once but out of their quiet hours; each linked group gets one post in the
community's language, for members who read the group rather than direct messages.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.services import attendance, directory, invitations, timing
from bot.engine.services.messenger import Messenger
from bot.messages import Attachment
from bot.runtime.outbox import Envelope
from storage.models import Community, Meeting, Member


def _when(community: Community, member: Member | None, moment: datetime, language: str) -> str:
    return i18n.format_datetime(i18n.local(moment, community, member), language, year=True)


async def _tell(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    key: str,
    text_key: str,
    meeting: Meeting,
    now: datetime,
    old: datetime | None = None,
    attachment: Attachment | None = None,
    but: Member | None = None,
    ask_again: bool = False,
) -> int:
    def render(member: Member | None, language: str) -> str:
        return messenger.texts.render(
            text_key,
            language,
            # Only direct messages carry the file.
            file=member is not None and attachment is not None,
            id=meeting.id,
            title=meeting.title,
            when=_when(community, member, old or meeting.starts_at, language),
            old=_when(community, member, old or meeting.starts_at, language),
            new=_when(community, member, meeting.starts_at, language),
        )

    asked = await attendance.forget_intents(session, meeting.id) if ask_again else set()
    envelopes: list[Envelope] = []
    for member in await directory.active_members(session, community.id):
        if but is not None and member.id == but.id:
            continue  # who made the change has their own confirmation
        language = messenger.language(community, member)
        envelope = messenger.member_envelope(
            community, member, f"{key}:{member.id}", render(member, language)
        )
        if envelope is None:
            continue
        if ask_again and member.id in asked:
            # Whether they will come was answered for the old time: asked again, here.
            again = attendance.ask_envelope(messenger, community, meeting, member)
            if again is not None:
                envelope = replace(
                    envelope,
                    message=replace(
                        envelope.message,
                        text=f"{envelope.message.text}\n\n{again.message.text}",
                        choices=again.message.choices,
                    ),
                    context=again.context,
                )
        if attachment is not None:
            envelope = replace(envelope, message=replace(envelope.message, attachment=attachment))
        at = timing.deliver_at(community, member, now)
        envelopes.append(replace(envelope, not_before=at) if at > now else envelope)
    sent = await messenger.outbox.put(session, envelopes)
    await messenger.to_groups(session, community, key, render(None, community.language))
    return sent


async def tell_cancelled(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    now: datetime,
    but: Member | None = None,
) -> int:
    """Tell every member (``but`` the one who cancelled it) and the groups that
    ``meeting`` is cancelled; returns how many direct messages were queued."""
    return await _tell(
        session,
        messenger,
        community,
        f"meeting-cancelled:{meeting.id}",
        "meeting.cancelled_notice",
        meeting,
        now,
        attachment=invitations.attachment(community, meeting, now),
        but=but,
    )


async def tell_moved(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    old: datetime,
    now: datetime,
    but: Member | None = None,
) -> int:
    """Tell every member (``but`` the one who moved it) and the groups the new time,
    with the updated invitation; members already asked whether they will come are
    asked again, for the new time."""
    return await _tell(
        session,
        messenger,
        community,
        f"meeting-moved:{meeting.id}:{int(now.timestamp())}",
        "meeting.moved_notice",
        meeting,
        now,
        old=old,
        attachment=invitations.attachment(community, meeting, now),
        but=but,
        ask_again=True,
    )
