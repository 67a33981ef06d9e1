"""The agenda's numbers, late proposals, the closing time, hidden results, anonymous
ballots, the ranked agenda after close and the thanks to every proposer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.adapter import Capabilities
from bot.engine.services.links import Page
from storage.models import AgendaItem, AgendaRound, AgendaVote, Community, Meeting
from tests.harness import Harness, to

MEMBERS = ("amina", "kwame", "thandi", "sipho", "zola")


async def setup(h: Harness, **settings: Any) -> None:
    await h.setup_community(members=MEMBERS)
    if settings:
        async with h.indaba.sessions() as session, session.begin():
            community = await session.scalar(select(Community))
            assert community is not None
            community.settings = {**community.settings, **settings}
    await h.say("fatima", "/meeting add 2026-11-30 14:00 November meeting", "#cop")
    await h.say("fatima", "/agenda open", "#cop")


async def propose(h: Harness, *items: tuple[str, str]) -> list[str]:
    return [to(await h.say(who, f"/agenda add {title}", "#cop"), who)[0] for who, title in items]


async def test_numbers_never_change_once_given(harness: Harness) -> None:
    h = harness
    await setup(h)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"), ("thandi", "Budgets"))
    await h.say("kwame", "/agenda withdraw 2", "#cop")
    (added,) = await propose(h, ("zola", "Open data portals"))
    # The withdrawn item's number is not given again, and nothing is renumbered.
    assert added.startswith("Added as item 4: Open data portals.")
    (listing,) = to(await h.say("amina", "/agenda", "#cop"), "amina")
    assert "- 1. Open data" in listing and "- 3. Budgets" in listing
    assert "- 4. Open data portals" in listing and "2. " not in listing
    merged = await h.say("fatima", "/agenda merge 1 4", "#cop")
    assert 'Merged "Open data portals" into "Open data"' in to(merged, "fatima")[0]
    await h.say("fatima", "/agenda open", "#cop")
    (voted,) = to(await h.say("sipho", "/agenda vote 3", "#cop"), "sipho")
    assert voted.startswith("Your votes: 3.")
    (gap,) = to(await h.say("sipho", "/agenda vote 2", "#cop"), "sipho")
    assert gap.startswith("There is no item 2 (the items are 1, 3).")
    async with h.indaba.sessions() as session:
        budgets = await session.scalar(select(AgendaItem).where(AgendaItem.title == "Budgets"))
        vote = await session.scalar(select(AgendaVote))
    assert budgets is not None and vote is not None and vote.item_id == budgets.id
    # In a DM the list is a ballot: the typed number is the item's own, not its place.
    (ballot,) = to(await h.say("thandi", "/agenda"), "thandi")
    assert "- 1. Open data" in ballot and "- 3. Budgets" in ballot
    (typed,) = to(await h.say("thandi", "3"), "thandi")
    assert typed.startswith("Your votes: 3.")


async def test_an_item_proposed_after_the_ballot_is_reposted_where_it_cannot_be_edited(
    harness: Harness,
) -> None:
    h = harness
    await setup(h)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
    sent = await h.say("fatima", "/agenda open", "#cop")
    assert any("Vote on the agenda" in t for t in to(sent, "#cop"))
    sent = await h.say("thandi", "/agenda add Budget literacy", "#cop")
    (thanks,) = to(sent, "thandi")
    assert thanks.startswith("Added as item 3: Budget literacy. It is on the ballot now.")
    (addition,) = to(sent, "#cop")
    assert addition.startswith("**New on the agenda of November meeting**")
    assert "- 3. Budget literacy" in addition and "1. Open data" not in addition
    (posted,) = [s for s in sent if s.message.address.conversation_id == "#cop"]
    assert [c.number for c in posted.message.choices] == [3]
    (voted,) = to(await h.say("sipho", "/agenda vote 3", "#cop"), "sipho")
    assert voted.startswith("Your votes: 3.")


async def test_an_item_proposed_after_the_ballot_joins_it_by_an_edit(
    database_url: str, tmp_path: Path
) -> None:
    buttons = MemoryAdapter(
        capabilities=Capabilities(buttons=True, max_buttons=3, edits=True, reply_to=True)
    )
    h = await Harness.create(database_url, tmp_path, adapters=[buttons])
    try:
        await setup(h)
        await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
        sent = await h.say("fatima", "/agenda open", "#cop")
        (ballot,) = [s for s in sent if s.message.address.conversation_id == "#cop"]
        sent = await h.say("thandi", "/agenda add Budget literacy", "#cop")
        (edit,) = [s for s in sent if s.message.address.conversation_id == "#cop"]
        assert edit.message.edit_of == ballot.ref.message_id
        assert "- 3. Budget literacy" in edit.message.text
        assert [c.number for c in edit.message.choices] == [1, 2, 3]
        # The part is full (three buttons): the next item is posted as an addition.
        sent = await h.say("sipho", "/agenda add Mapping", "#cop")
        (addition,) = [s for s in sent if s.message.address.conversation_id == "#cop"]
        assert addition.message.edit_of is None
        assert addition.message.text.startswith("**New on the agenda of November meeting**")
        assert [c.number for c in addition.message.choices] == [4]
    finally:
        await h.aclose()


async def test_the_ballot_says_when_voting_closes_in_each_readers_language_and_time(
    harness: Harness,
) -> None:
    h = harness
    await setup(h)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
    sent = await h.say("fatima", "/agenda open", "#cop")
    (ballot,) = [t for t in to(sent, "#cop") if "Vote on the agenda" in t]
    # Two days before 30 November at 09:00 in Lagos, the community's timezone.
    assert "Voting closes on Saturday 28 November, 09:00 (Lagos)." in ballot
    await h.say("thandi", "/lang fr")
    await h.say("thandi", "/tz Africa/Nairobi")
    (mine,) = to(await h.say("thandi", "/agenda"), "thandi")
    assert "Le vote se clôt le samedi 28 novembre, 11:00 (Nairobi)." in mine


async def test_results_stay_hidden_until_voting_closes(harness: Harness) -> None:
    h = harness
    await setup(h, agenda_results_while_voting=False)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
    sent = await h.say("fatima", "/agenda open", "#cop")
    (ballot,) = [s for s in sent if "Vote on the agenda" in s.message.text]
    assert not ballot.message.poll  # a native poll would show the counts
    await h.say("amina", "/agenda vote 2", "#cop")
    sent = await h.say("kwame", "/agenda vote 2", "#cop")
    assert all(" vote" not in t.split("\n", 1)[-1] for t in to(sent, "#cop"))
    (listing,) = to(await h.say("sipho", "/agenda", "#cop"), "sipho")
    assert "· 2 votes" not in listing and "· 0 votes" not in listing
    assert "The results are shown when voting closes." in listing
    closed = await h.say("fatima", "/agenda close", "#cop")
    assert "1. Procurement · 2 votes" in to(closed, "#cop")[0]


async def test_an_anonymous_ballot_keeps_only_the_tallies(harness: Harness) -> None:
    h = harness
    await setup(h, agenda_anonymous=True)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
    sent = await h.say("fatima", "/agenda open", "#cop")
    (ballot,) = [t for t in to(sent, "#cop") if "Vote on the agenda" in t]
    assert "Anonymous ballot: when voting closes only the totals are kept" in ballot
    await h.say("amina", "/agenda vote 2", "#cop")
    await h.say("kwame", "/agenda vote 1 2", "#cop")
    closed = await h.say("fatima", "/agenda close", "#cop")
    assert "1. Procurement · 2 votes" in to(closed, "#cop")[0]
    async with h.indaba.sessions() as session:
        assert (await session.scalars(select(AgendaVote))).all() == []
        found = await session.scalar(select(AgendaRound))
    assert found is not None and found.anonymous
    assert [(r["title"], r["votes"], r["voters"]) for r in found.ranking] == [
        ("Procurement", 2, 2),
        ("Open data", 1, 1),
    ]
    (listing,) = to(await h.say("amina", "/agenda", "#cop"), "amina")
    assert "- 1. Procurement · 2 votes" in listing


async def test_after_close_the_agenda_is_shown_ranked(harness: Harness) -> None:
    h = harness
    await setup(h)
    await propose(h, ("amina", "Open data"), ("kwame", "Procurement"), ("thandi", "Budgets"))
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 3", "#cop")
    await h.say("kwame", "/agenda vote 2 3", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    (listing,) = to(await h.say("thandi", "/agenda", "#cop"), "thandi")
    lines = [line for line in listing.splitlines() if line.startswith("- ")]
    assert lines == [
        "- 1. Budgets · 2 votes · yours",
        "- 2. Procurement · 1 vote",
        "- 3. Open data · 0 votes",
    ]


async def test_every_merged_proposer_is_thanked(harness: Harness) -> None:
    h = harness
    await setup(h)
    await propose(
        h, ("amina", "Open data"), ("kwame", "Open data portals"), ("thandi", "Opening data")
    )
    await h.say("fatima", "/agenda merge 2 3", "#cop")
    await h.say("fatima", "/agenda merge 1 2", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    closed = await h.say("fatima", "/agenda close", "#cop")
    ranking = to(closed, "#cop")[0]
    assert "- 1. Open data · 0 votes" in ranking
    assert "Thank you to Amina, Kwame, Thandi for proposing items!" in ranking


async def test_hidden_results_stay_out_of_the_digest_and_the_agenda_page(
    database_url: str, tmp_path: Path
) -> None:
    h = await Harness.create(database_url, tmp_path, http_port=0)
    try:
        await setup(h, agenda_results_while_voting=False)
        await propose(h, ("amina", "Open data"), ("kwame", "Procurement"))
        await h.say("fatima", "/agenda open", "#cop")
        await h.say("amina", "/agenda vote 2", "#cop")
        await h.say("kwame", "/agenda vote 2", "#cop")
        (digest,) = to(await h.say("fatima", "/digest", "#cop"), "fatima")
        assert "Agenda standings" not in digest and "2 votes" not in digest
        await h.indaba.serve_http()
        h.indaba.links.base_url = f"http://127.0.0.1:{await h.indaba.http_port()}"
        async with h.indaba.sessions() as session:
            meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        url = h.indaba.links.meeting(meeting.id, h.indaba.links.expiry(h.clock.now()), Page.AGENDA)
        async with httpx.AsyncClient(timeout=60) as client:
            page = (await client.get(url)).text
            assert "The counts are shown when voting closes." in page
            # The proposals without their votes: the row ends with the proposer.
            assert "<td>Procurement</td><td>Kwame</td></tr>" in page
            await h.say("fatima", "/agenda close", "#cop")
            closed = (await client.get(url)).text
        assert "The counts are shown when voting closes." not in closed
        assert "Procurement · 2 votes" in closed
    finally:
        await h.aclose()
