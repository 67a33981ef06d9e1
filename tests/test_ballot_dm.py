"""A ballot sent as a direct message (no group to post it in) takes several numbers."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AgendaVote
from tests.harness import Harness, to


async def test_numbered_reply_to_a_ballot_dm_counts_every_number(harness: Harness) -> None:
    h = harness
    setup, join = await h.create_community()
    await h.say("fatima", f"/setup {setup}")
    for member in ("amina", "kwame"):
        await h.say(member, f"/join {join}")
    await h.say("fatima", "/meeting add 2026-11-30 14:00 November meeting")
    await h.say("fatima", "/agenda open")
    await h.say("amina", "/agenda add Open data portals")
    await h.say("kwame", "/agenda add Procurement monitoring")
    # With no linked group, the ballot reaches each member as a DM.
    sent = await h.say("fatima", "/agenda open")
    ballots = [s for s in sent if "Vote on the agenda" in s.message.text]
    assert {s.message.address.conversation_id for s in ballots} >= {"amina", "kwame"}
    assert all(s.message.multi_select for s in ballots)
    voted = await h.say("amina", "1 2")
    assert to(voted, "amina")[0].startswith("Your votes: 1, 2.")
    async with h.indaba.sessions() as session:
        assert len((await session.scalars(select(AgendaVote))).all()) == 2
