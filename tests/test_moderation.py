"""Moderation: facilitators hide, remove and restore what members filed; members remove
their own; hidden items leave the brief, the digest, the wall and the exports; the audit
log (``indaba audit``) says who did what and when."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app.cli import app
from bot.engine.services import wall
from bot.engine.services.harvest import build_harvest
from bot.engine.services.moderation import shown_ranking
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import (
    AgendaItem,
    AuditEntry,
    Community,
    Introduction,
    Meeting,
    Practice,
    Prompt,
    Reply,
)
from storage.statuses import PromptStatus
from tests.harness import Harness, to


@pytest.fixture
async def migrated(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on a database built by the migrations, so the CLI accepts it too."""
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    h = await Harness.create(database_url, tmp_path)
    yield h
    await h.aclose()


def indaba(database_url: str, *args: str) -> str:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INDABA_")}
    result = CliRunner().invoke(app, list(args), env={**unset, "INDABA_DATABASE_URL": database_url})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


async def test_a_hidden_practice_leaves_the_lists_and_the_digest(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("amina", "/practice Share slides before the meeting", "#cop")
    await h.say("kwame", "/practice Pair new members with a buddy", "#cop")
    preview = to(await h.say("fatima", "/digest", "#cop"), "fatima")[0]
    assert "Share slides before the meeting" in preview
    done = to(await h.say("fatima", "/moderate hide practice 1", "#cop"), "fatima")
    assert done[0].startswith("Hidden: practice #1.")
    listing = to(await h.say("kwame", "/practice list", "#cop"), "kwame")[0]
    assert "Share slides" not in listing and "Pair new members" in listing
    preview = to(await h.say("fatima", "/digest", "#cop"), "fatima")[0]
    assert "Share slides before the meeting" not in preview
    again = to(await h.say("fatima", "/practice hide 1", "#cop"), "fatima")
    assert again == ["practice #1 is hidden already."]
    restored = to(await h.say("fatima", "/practice restore 1", "#cop"), "fatima")
    assert restored == ["Restored: practice #1."]
    listing = to(await h.say("kwame", "/practice list", "#cop"), "kwame")[0]
    assert "Share slides" in listing


async def test_members_remove_their_own_and_only_their_own(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("amina", "/practice Share slides before the meeting", "#cop")
    refused = to(await h.say("kwame", "/practice remove 1", "#cop"), "kwame")
    assert refused[0].startswith("Only a facilitator can use /moderate remove.")
    refused = to(await h.say("amina", "/moderate hide practice 1", "#cop"), "amina")
    assert refused[0].startswith("Only a facilitator can use /moderate hide.")
    async with h.indaba.sessions() as session:
        assert (await session.get(Practice, 1)) is not None
    removed = to(await h.say("amina", "/practice remove 1", "#cop"), "amina")
    assert removed == ["Removed for good: practice #1."]
    async with h.indaba.sessions() as session:
        assert (await session.get(Practice, 1)) is None
    # Her /undo has nothing left to take back.
    assert to(await h.say("amina", "/undo"), "amina") == ["There is nothing to take back."]
    usage = to(await h.say("amina", "/moderate hide"), "amina")
    assert usage[0].startswith("Use /moderate hide|remove|restore")


async def test_only_a_facilitator_of_that_community_moderates_its_items(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await h.say("amina", "/practice Share slides before the meeting", "#cop")
    setup, _ = await h.indaba.create_community("Accra Data", "Africa/Accra", "en")
    await h.say("omar", f"/setup {setup}", "#accra")
    other = to(await h.say("omar", "/moderate remove practice 1", "#accra"), "omar")
    assert other == ["There is no practice #1 in this community."]
    other = to(await h.say("omar", "/moderate hide practice 1", "#accra"), "omar")
    assert other == ["There is no practice #1 in this community."]
    async with h.indaba.sessions() as session:
        practice = await session.get(Practice, 1)
        assert practice is not None and practice.hidden_at is None


async def test_hidden_answers_leave_the_brief_and_a_removed_one_is_asked_again(
    harness: Harness,
) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=11, hours=3)
    await h.say("amina", "Our budget portal went live")
    await h.say("kwame", "/")
    await h.say("kwame", "We trained 40 clerks")
    async with h.indaba.sessions() as session:
        ids = dict((await session.execute(select(Reply.text, Reply.id))).all())
    brief = to(await h.say("fatima", "/brief", "#cop"), "fatima")[0]
    assert "Our budget portal went live" in brief and "We trained 40 clerks" in brief
    answer = ids["Our budget portal went live"]
    await h.say("fatima", f"/moderate hide answer {answer}", "#cop")
    brief = to(await h.say("fatima", "/brief", "#cop"), "fatima")[0]
    assert "Our budget portal went live" not in brief and "We trained 40 clerks" in brief
    clerks = ids["We trained 40 clerks"]
    removed = to(await h.say("fatima", f"/moderate remove answer {clerks}", "#cop"), "fatima")
    assert removed == [f"Removed for good: answer #{clerks}."]
    async with h.indaba.sessions() as session:
        assert await session.get(Reply, clerks) is None
        statuses = (
            await session.scalars(select(Prompt.status).order_by(Prompt.member_id, Prompt.id))
        ).all()
    assert PromptStatus.QUEUED in statuses


async def test_hidden_wall_entries_and_agenda_items_leave_the_wall_and_the_ranking(
    harness: Harness,
) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    for text in ("Open contracting", "Python training", "Funding"):
        await h.say("amina", text)
    for text in ("Open contracting", "Scraping", "Funding"):
        await h.say("kwame", text)
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        assert community is not None
        entries = await wall.entries(session, community)
        assert len(entries) == 2
        first = entries[0].id
    await h.say("fatima", f"/moderate hide wall {first}", "#cop")
    # The facilitator finds the numbers to moderate by; members cannot list them.
    listed = to(await h.say("fatima", "/moderate list wall", "#cop"), "fatima")[0]
    assert f"- #{first} Amina: Open contracting · Python training · Funding (hidden)" in listed
    assert "Kwame: Open contracting · Scraping · Funding\n" in listed
    refused = to(await h.say("amina", "/moderate list wall", "#cop"), "amina")[0]
    assert refused.startswith("Only a facilitator can use /moderate list.")
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        assert community is not None
        assert [e.id for e in await wall.entries(session, community)] == [entries[1].id]
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    # 14 days before the meeting, at 09:00 Lagos: proposals open.
    await h.advance(days=4, hours=3)
    await h.say("amina", "/agenda add Open data in procurement", "#cop")
    await h.say("kwame", "/agenda add Funding the data desk", "#cop")
    async with h.indaba.sessions() as session:
        items = (await session.scalars(select(AgendaItem).order_by(AgendaItem.id))).all()
    # Agenda items go by the numbers /agenda shows.
    listed = to(await h.say("fatima", "/moderate list agenda", "#cop"), "fatima")[0]
    assert f"- #{items[0].number} Amina: Open data in procurement" in listed
    await h.say("fatima", f"/moderate hide agenda {items[0].number}", "#cop")
    listing = to(await h.say("kwame", "/agenda", "#cop"), "kwame")[0]
    assert "Open data in procurement" not in listing and "Funding the data desk" in listing
    async with h.indaba.sessions() as session:
        ranking = [{"item_id": item.id, "rank": 1, "title": item.title} for item in items]
        assert [r["item_id"] for r in await shown_ranking(session, ranking)] == [items[1].id]


async def test_the_audit_log_and_the_operator(migrated: Harness, database_url: str) -> None:
    h = migrated
    await h.setup_community(members=("amina",))
    await h.say("amina", "/practice Share slides before the meeting", "#cop")
    await h.say("amina", "/practice Name a note-taker", "#cop")
    await h.say("fatima", "/moderate hide practice 1", "#cop")
    await h.say("fatima", "/moderate restore practice 1", "#cop")
    await h.say("amina", "/practice remove 2", "#cop")
    out = await asyncio.to_thread(
        indaba, database_url, "moderate", "hide", "practice", "1", "--community", "Lagos Civic Tech"
    )
    assert out.strip() == "hide: practice #1"
    out = await asyncio.to_thread(indaba, database_url, "audit", "--community", "Lagos Civic Tech")
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].endswith("Lagos Civic Tech\toperator\thide\tpractice #1\tby Amina")
    assert lines[1].endswith("Lagos Civic Tech\tAmina\tremove\tpractice #2\tby Amina")
    assert lines[2].endswith("Lagos Civic Tech\tFatima\trestore\tpractice #1\tby Amina")
    assert lines[3].endswith("Lagos Civic Tech\tFatima\thide\tpractice #1\tby Amina")
    async with h.indaba.sessions() as session:
        rows = (await session.scalars(select(AuditEntry))).all()
        practice = await session.get(Practice, 1)
    assert len(rows) == 4
    assert practice is not None and practice.hidden_at is not None and practice.hidden_by is None


async def test_members_remove_their_own_answer_and_wall_line(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    for text in ("Open contracting", "Python training", "Funding"):
        await h.say("amina", text)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=11, hours=3)
    await h.say("amina", "Our budget portal went live")
    async with h.indaba.sessions() as session:
        [reply] = (await session.scalars(select(Reply))).all()
    removed = to(await h.say("amina", "/answers remove 1"), "amina")
    assert removed == [f"Removed for good: answer #{reply.id}."]
    assert to(await h.say("amina", "/answers remove 1"), "amina")[0].startswith(
        "There is no question with that number"
    )
    gone = to(await h.say("amina", "/wall me remove", "#cop"), "amina")
    assert gone[0].startswith("Removed for good: wall entry #")
    async with h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply))).all() == []
        community = await session.scalar(select(Community))
        assert community is not None
        assert await wall.entries(session, community) == []
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["remove", "remove"]


async def test_a_hidden_wall_entry_is_quoted_in_no_introduction(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    for text in ("Open contracting", "Python training", "Procurement data from ministries"):
        await h.say("amina", text)
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        assert community is not None
        [entry] = await wall.entries(session, community)
    await h.say("fatima", f"/moderate hide wall {entry.id}", "#cop")
    for text in ("Civic tech", "Scraping procurement data", "Funding"):
        await h.say("kwame", text)
    # Amina changes her hidden line: still nobody is offered her words.
    await h.say("amina", "/wall me needs Scraping procurement data", "#cop")
    async with h.indaba.sessions() as session:
        assert (await session.scalars(select(Introduction))).all() == []


async def test_the_same_verbs_on_agenda_and_wall(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    for text in ("Open contracting", "Python training", "Funding"):
        await h.say("amina", text)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=4, hours=3)
    await h.say("amina", "/agenda add Open data in procurement", "#cop")
    await h.say("kwame", "/agenda add Funding the data desk", "#cop")
    refused = to(await h.say("kwame", "/agenda remove 1", "#cop"), "kwame")
    assert refused[0].startswith("Only a facilitator can use /moderate remove.")
    removed = to(await h.say("fatima", "/agenda remove 1", "#cop"), "fatima")
    assert removed == ["Removed for good: agenda item #1."]
    listing = to(await h.say("kwame", "/agenda", "#cop"), "kwame")[0]
    assert "Open data in procurement" not in listing and "Funding the data desk" in listing
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        assert community is not None
        [entry] = await wall.entries(session, community)
    assert to(await h.say("fatima", f"/wall hide {entry.id}", "#cop"), "fatima")[0].startswith(
        f"Hidden: wall entry #{entry.id}."
    )
    shown = to(await h.say("kwame", "/wall", "#cop"), "kwame")[0]
    assert "Python training" not in shown
    restored = to(await h.say("fatima", f"/wall restore {entry.id}", "#cop"), "fatima")
    assert restored == [f"Restored: wall entry #{entry.id}."]
    assert "Python training" in to(await h.say("kwame", "/wall", "#cop"), "kwame")[0]


async def test_removed_or_hidden_items_leave_a_closed_rounds_harvest(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=4, hours=3)
    for who, title in (("amina", "Open data"), ("kwame", "Funding"), ("amina", "Maps")):
        await h.say(who, f"/agenda add {title}", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 2", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    await h.say("fatima", "/agenda remove 1", "#cop")
    await h.say("fatima", "/agenda hide 3", "#cop")
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        found = await build_harvest(session, h.indaba.texts, community, meeting, "en")
    assert [title for _, title, _ in found.agenda] == ["Funding"]
