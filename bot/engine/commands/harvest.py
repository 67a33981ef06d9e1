"""/harvest: the harvest of a meeting, for the facilitator and on request for the group;
``/harvest link`` and ``/harvest poster`` hand out the meeting pack's page and poster."""

from __future__ import annotations

from bot.engine.registry import Registry
from bot.engine.services.harvest import build_harvest, render_text
from bot.engine.services.links import Page
from bot.engine.services.meetings import latest_meeting
from bot.engine.turn import Turn
from bot.messages import Address, Attachment, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import Meeting


async def _meeting(turn: Turn, ids: list[str]) -> Meeting | None:
    """The meeting named by id in this community, or the latest one; None (answered)
    when there is none."""
    assert turn.community is not None
    if ids:
        meeting = await turn.session.get(Meeting, int(ids[0]))
        if meeting is not None and meeting.community_id != turn.community.id:
            meeting = None
    else:
        meeting = await latest_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if meeting is None:
        await turn.say("harvest.no_meeting" if ids else "meeting.none", private=True)
    return meeting


async def pack_command(turn: Turn, what: str, ids: list[str]) -> None:
    """``/harvest link`` (the harvest page) or ``/harvest poster`` (the poster as a document)."""
    links = turn.services.links
    if links is None:
        await turn.say("web.off", private=True)
        return
    meeting = await _meeting(turn, ids)
    if meeting is None:
        return
    now = turn.services.clock.now()
    expires = links.expiry(now)
    if what == "link":
        url = links.meeting(meeting.id, expires, Page.HARVEST)
        await turn.say(
            "harvest.link", private=True, meeting=meeting.title, days=links.default_days, url=url
        )
        return
    url = links.meeting(meeting.id, expires, Page.POSTER_PDF)
    event = turn.event
    # Always to the facilitator's direct messages: an ephemeral group reply cannot
    # carry a file on every platform.
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            f"poster:{meeting.id}:{event.platform}:{event.conversation.id}:"
            f"{event.message_id or now.isoformat()}",
            OutgoingMessage(
                address=Address(event.platform, ConversationKind.DM, event.sender.user_id),
                text=turn.t("harvest.poster", meeting=meeting.title, url=url),
                attachment=Attachment(url, f"poster-{meeting.id}.pdf", "application/pdf"),
            ),
            community_id=turn.community.id if turn.community else None,
            member_id=turn.member.id if turn.member else None,
        ),
    )


async def harvest_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    words = args.lower().split()
    if words and words[0] in ("link", "poster"):
        ids = [w for w in words[1:] if w.isdigit()]
        if len(ids) != len(words) - 1 or len(ids) > 1:
            await turn.say("harvest.usage", private=True)
            return
        await pack_command(turn, words[0], ids)
        return
    post = "post" in words
    ids = [w for w in words if w.isdigit()]
    if len(ids) + post != len(words):
        await turn.say("harvest.usage", private=True)
        return
    meeting = await _meeting(turn, ids)
    if meeting is None:
        return
    texts = turn.services.texts
    harvest = await build_harvest(turn.session, texts, turn.community, meeting, turn.language)
    await turn.reply(render_text(texts, harvest, turn.language), private=True)
    if post:
        group = await build_harvest(
            turn.session, texts, turn.community, meeting, turn.community.language
        )
        await turn.services.messenger.to_community(
            turn.session,
            turn.community,
            f"harvest:{meeting.id}:{turn.services.clock.now().isoformat()}",
            render_text(texts, group, turn.community.language),
        )
        await turn.say("harvest.posted", private=True, meeting=meeting.title)


def register(registry: Registry) -> None:
    registry.command(
        "harvest",
        harvest_command,
        usage="/harvest [MEETING_ID] [post] | link [MEETING_ID] | poster [MEETING_ID]",
        facilitator_only=True,
    )
