"""The co-built agenda through the engine: proposals, votes, merge, close and ranking."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AgendaRound, AgendaVote, Community
from tests.harness import Harness, to

MEMBERS = ("amina", "kwame", "thandi", "sipho", "zola")


async def setup(h: Harness, when: str = "2026-11-30 14:00") -> None:
    await h.setup_community(members=MEMBERS)
    date, time = when.split()
    await h.say("fatima", f"/meeting add {date} {time} November meeting", "#cop")


async def test_timetable_opens_votes_and_closes(harness: Harness) -> None:
    h = harness
    await setup(h)
    early = await h.say("amina", "/agenda add Too early", "#cop")
    assert "not open yet" in to(early, "amina")[0]
    # 14 days before 30 Nov at 09:00 Lagos: proposals open, announced in the group.
    sent = await h.advance(days=14, hours=3)
    assert any("open for proposals" in t for t in to(sent, "#cop"))
    await h.say("amina", "/agenda add Open data portals\nWhat went live this year", "#cop")
    await h.say("kwame", "/agenda add Procurement monitoring", "#cop")
    await h.say("thandi", "/agenda add Budget literacy", "#cop")
    # 7 days before: voting opens with a ballot posted to the group.
    sent = await h.advance(days=7)
    ballot = [t for t in to(sent, "#cop") if "Vote on the agenda" in t]
    assert len(ballot) == 1 and "1. Open data portals" in ballot[0]
    await h.say("amina", "/agenda vote 1 2", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")  # pressing again counts once
    await h.say("thandi", "/agenda vote 3 2", "#cop")
    changed = await h.say("thandi", "/agenda vote 3", "#cop")  # changed her mind
    assert "Your votes: 3" in to(changed, "thandi")[0]
    # 2 days before: the ranking is posted and kept with the meeting.
    sent = await h.advance(days=5)
    ranking = next(t for t in to(sent, "#cop") if t.startswith("# Agenda of"))
    assert "1. Procurement monitoring · 2 votes" in ranking
    assert "2. Open data portals · 1 vote (tie)" in ranking
    assert "3. Budget literacy · 1 vote (tie)" in ranking
    assert "Thank you to Kwame, Amina, Thandi" in ranking
    async with h.indaba.sessions() as session:
        found = await session.scalar(select(AgendaRound))
        assert found is not None and found.status == "closed"
        assert [(r["rank"], r["votes"]) for r in found.ranking] == [(1, 2), (2, 1), (3, 1)]
    late = await h.say("zola", "/agenda vote 1", "#cop")
    assert "not open" in to(late, "zola")[0]


async def test_facilitator_commands_refuse_members(harness: Harness) -> None:
    h = harness
    await setup(h)
    for action in ("open", "close", "merge 1 2"):
        sent = await h.say("amina", f"/agenda {action}", "#cop")
        assert "Only a facilitator can use /agenda" in to(sent, "amina")[0]
        assert "Ask Fatima" in to(sent, "amina")[0]


async def test_merge_counts_each_member_once_and_withdraw_own_only(harness: Harness) -> None:
    h = harness
    await setup(h)
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add Open data", "#cop")
    await h.say("kwame", "/agenda add Open data portals", "#cop")
    await h.say("thandi", "/agenda add Something else", "#cop")
    refused = await h.say("amina", "/agenda withdraw 3", "#cop")
    assert "only withdraw an item you proposed" in to(refused, "amina")[0]
    await h.say("thandi", "/agenda withdraw 3", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 1 2", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")
    await h.say("sipho", "/agenda vote 1", "#cop")
    merged = await h.say("fatima", "/agenda merge 1 2", "#cop")
    assert "Merged" in to(merged, "fatima")[0]
    closed = await h.say("fatima", "/agenda close", "#cop")
    ranking = to(closed, "fatima")[0]
    # amina voted for both: she counts once; kwame and sipho once each.
    assert "1. Open data · 3 votes" in ranking
    assert "Something else" not in ranking


async def test_dot_voting_and_numbered_ballot_in_dm(harness: Harness) -> None:
    h = harness
    await setup(h)
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, "agenda_voting": "dots", "agenda_dots": 3}
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add A", "#cop")
    await h.say("kwame", "/agenda add B", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    sent = await h.say("amina", "/agenda vote 1 1 2")
    assert "Your votes: 1×2, 2" in to(sent, "amina")[0]
    too_many = await h.say("amina", "/agenda vote 1 1 1 2")
    assert "3 dots in all" in to(too_many, "amina")[0]
    # /agenda in a DM is a ballot; a numbered reply votes (one dot each).
    ballot = await h.say("kwame", "/agenda")
    assert "1. A" in to(ballot, "kwame")[0]
    await h.say("kwame", "2")
    await h.say("kwame", "2")  # the same whole selection again changes nothing
    async with h.indaba.sessions() as session:
        votes = sorted((v.member_id, v.dots) for v in (await session.scalars(select(AgendaVote))))
    assert sum(d for _, d in votes) == 4
    closed = await h.say("fatima", "/agenda close", "#cop")
    assert "1. A · 2 dots" in to(closed, "fatima")[0]
    assert "2. B · 2 dots" in to(closed, "fatima")[0]


async def test_long_and_marked_up_titles(harness: Harness) -> None:
    h = harness
    await setup(h)
    await h.say("fatima", "/agenda open", "#cop")
    long = await h.say("amina", "/agenda add " + "x" * 201, "#cop")
    assert "200 characters" in to(long, "amina")[0]
    await h.say("amina", "/agenda add **loud** title", "#cop")
    listing = await h.say("amina", "/agenda", "#cop")
    assert "\\*\\*loud\\*\\* title" in to(listing, "amina")[0]
