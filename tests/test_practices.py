"""Best practices: submitted, asked for after a meeting, upvoted once per member."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Practice, PracticeVote
from tests.harness import Harness, to


async def test_submit_upvote_and_takeaway_after_meeting(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame", "thandi"))
    await h.say("fatima", "/meeting add 2026-11-05 14:00 November meeting", "#cop")
    saved = await h.say("amina", "/practice Publish **data** weekly", "#cop")
    assert "practice is #1" in to(saved, "amina")[0]
    await h.say("kwame", "/practice Pair new members with a buddy", "#cop")
    own = await h.say("amina", "/practice vote 1", "#cop")
    assert "own practice" in to(own, "amina")[0]
    await h.say("kwame", "/practice vote 1", "#cop")
    again = await h.say("kwame", "/practice vote 1", "#cop")
    assert "counts once" in to(again, "kwame")[0]
    await h.say("thandi", "/practice vote 1", "#cop")
    await h.say("thandi", "/practice vote 2", "#cop")
    listing = to(await h.say("thandi", "/practice list", "#cop"), "thandi")[0]
    assert listing.index("#1 Publish \\*\\*data\\*\\* weekly · Amina · 2 votes") < listing.index(
        "#2 Pair new members with a buddy · Kwame · 1 vote"
    )
    # Three hours after the meeting starts, every member is asked for a take-away.
    sent = await h.advance(days=3, hours=11)
    asked = {s.message.address.conversation_id for s in sent if "take away" in s.message.text}
    assert asked == {"fatima", "amina", "kwame", "thandi"}
    reply = await h.say("thandi", "Start meetings with a round of wins")
    assert "practice #3" in to(reply, "thandi")[0]
    async with h.indaba.sessions() as session:
        rows = (await session.scalars(select(Practice).order_by(Practice.id))).all()
        assert rows[0].text == "Publish **data** weekly"
        assert rows[2].meeting_id is not None
        assert len((await session.scalars(select(PracticeVote))).all()) == 3
    too_long = await h.say("kwame", "/practice " + "x" * 1001, "#cop")
    assert "1000 characters" in to(too_long, "kwame")[0]
