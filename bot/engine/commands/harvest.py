"""/harvest: the harvest of a meeting, for the facilitator and on request for the group."""

from __future__ import annotations

from bot.engine.registry import Registry
from bot.engine.services.harvest import build_harvest, render_text
from bot.engine.services.meetings import latest_meeting
from bot.engine.turn import Turn
from storage.models import Meeting


async def harvest_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    words = args.lower().split()
    post = "post" in words
    ids = [w for w in words if w.isdigit()]
    if len(ids) + post != len(words):
        await turn.say("harvest.usage", private=True)
        return
    if ids:
        meeting = await turn.session.get(Meeting, int(ids[0]))
        if meeting is not None and meeting.community_id != turn.community.id:
            meeting = None
    else:
        meeting = await latest_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if meeting is None:
        await turn.say("harvest.no_meeting" if ids else "meeting.none", private=True)
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
        "harvest", harvest_command, usage="/harvest [MEETING_ID] [post]", facilitator_only=True
    )
