"""Members own their data: the consent paragraph, /privacy, /mydata, /forget, the
operator's ``indaba member`` commands and retention on the timetable."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.memory import MemoryAdapter
from bot.engine.services import privacy
from bot.engine.services.harvest import build_harvest, render_text
from bot.engine.texts import Texts
from bot.messages import CommandInvoked, Conversation, ConversationKind, Sender
from storage.models import (
    Base,
    Community,
    InboxEvent,
    Meeting,
    Member,
    OutboxMessage,
    ProcessedEvent,
    Prompt,
    Reply,
    TimetableRun,
)
from tests.harness import Harness, to
from tests.test_cli import db_env, indaba

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ROOT / "prompts"

# What names Amina: her user ids on both platforms, her names.
AMINA = ("amina", "+254700111", "Amina")
LAGOS = ZoneInfo("Africa/Lagos")


async def night(h: Harness, nights: int) -> None:
    """Move the clock to 03:30 in Lagos, ``nights`` nights on: the retention step runs."""
    today = h.clock.now().astimezone(LAGOS).date()
    target = datetime.combine(today + timedelta(days=nights), time(3, 30), tzinfo=LAGOS)
    await h.advance(seconds=(target - h.clock.now()).total_seconds())


# -- the schema: every table is covered --------------------------------------------------


def test_every_table_is_classified_for_export_and_erasure() -> None:
    assert privacy.unclassified(Base.metadata) == []


def test_a_new_table_naming_a_member_fails_the_check() -> None:
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table(
        "badges",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("member_id", ForeignKey("members.id")),
    )
    Table(
        "phone_book",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("phone", String(32)),
    )
    missing = privacy.unclassified(metadata)
    assert "badges: not classified" in missing
    assert "badges: names a member but has no erasure rule" in missing
    assert "phone_book.phone: may hold an account, not declared" in missing


# -- consent at joining, in every language ------------------------------------------------


def test_the_welcome_says_what_is_kept_in_every_language() -> None:
    texts = Texts(PROMPTS)
    shipped = sorted(p.name for p in (PROMPTS / "texts").iterdir() if p.is_dir())
    assert set(shipped) >= {"en", "fr"}
    english = texts.render("welcome.dm", "en", community="C", name="N")
    for language in shipped:
        own = yaml.safe_load((PROMPTS / "texts" / language / "core.yaml").read_text())
        for command in ("/privacy", "/mydata", "/forget"):
            assert command in own["welcome.dm"], f"{language}: the welcome does not name {command}"
        welcome = texts.render("welcome.dm", language, community="C", name="N")
        if language != "en":
            assert welcome != english, f"{language}: the welcome is not translated"
        notice = texts.render(
            "privacy.notice",
            language,
            community="C",
            facilitators=["Fatima"],
            answers_months=24,
            text_days=30,
            inbound_days=30,
        )
        assert "24" in notice and "30" in notice and "/mydata" in notice and "/forget" in notice


async def test_privacy_notice_template_and_a_community_of_its_own(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    notice = to(await h.say("amina", "/privacy"), "amina")[0]
    assert "Privacy notice of Lagos Civic Tech" in notice
    assert "Fatima" in notice and "24 months" in notice and "30 days" in notice
    refused = to(await h.say("amina", "/privacy set Our own words"), "amina")[0]
    assert "Only a facilitator" in refused
    await h.say("fatima", "/privacy set Lagos Civic Tech keeps what you tell it for a year.")
    assert to(await h.say("amina", "/privacy"), "amina") == [
        "Lagos Civic Tech keeps what you tell it for a year."
    ]
    await h.say("fatima", "/privacy reset")
    assert "Privacy notice of" in to(await h.say("amina", "/privacy"), "amina")[0]
    # Before joining anything, the template still answers.
    assert "Privacy notice" in to(await h.say("stranger", "/privacy"), "stranger")[0]


# -- a whole story: a member with two platforms and two communities ------------------------


async def _rows_naming(session: AsyncSession, member_ids: set[int]) -> dict[str, set[int]]:
    """Every row of every table with a member column naming one of ``member_ids``."""
    found: dict[str, set[int]] = {}
    for name, columns in privacy.member_tables().items():
        table = Base.metadata.tables[name]
        where = or_(*(table.c[column].in_(member_ids) for column in columns))
        rows = (await session.execute(select(table.c.id).where(where))).scalars()
        found[name] = set(rows)
    return found


async def _everything(session: AsyncSession) -> str:
    """Every value of every table, as one text to search."""
    dump: list[Any] = []
    for table in Base.metadata.sorted_tables:
        dump.extend(dict(r) for r in (await session.execute(select(table))).mappings())
    return json.dumps(dump, default=str)


async def _figures(h: Harness, meeting_id: int) -> tuple[str, dict[str, Any]]:
    async with h.indaba.sessions() as session:
        meeting = await session.get(Meeting, meeting_id)
        community = await session.get(Community, meeting.community_id) if meeting else None
        assert meeting is not None and community is not None
        harvest = await build_harvest(session, h.indaba.texts, community, meeting, "en")
    figures = {
        "asked": len(harvest.asked),
        # Who answered anything: every question, or some of them.
        "answered": len(harvest.answered) + harvest.partial,
        "agenda": [(rank, votes) for rank, _, votes in harvest.agenda],
        "practices": sorted(votes for _, _, votes in harvest.practices if votes),
        "introductions": len(harvest.introductions),
    }
    return render_text(h.indaba.texts, harvest, "en"), figures


async def _push_other(other: MemoryAdapter, h: Harness, command: str, args: str = "") -> list[str]:
    await other.push(
        CommandInvoked(
            Conversation("other", "+254700111", ConversationKind.DM),
            Sender("other", "+254700111", "Amina W."),
            f"o{command}{len(args)}",
            command=command,
            args=args,
        )
    )
    await h.settle()
    return [s.message.text for s in other.pop()]


async def test_mydata_holds_every_row_and_forget_erases_them(
    database_url: str, tmp_path: Path
) -> None:
    other = MemoryAdapter(name="other")
    h = await Harness.create(database_url, tmp_path, adapters=[MemoryAdapter(), other])
    try:
        await _story(h, other)
    finally:
        await h.aclose()


async def _story(h: Harness, other: MemoryAdapter) -> None:
    await h.setup_community(members=("amina", "kwame", "thandi"))
    # Amina reaches Indaba on a second platform too, and belongs to a second community.
    code = next(t for t in [*to(await h.say("amina", "/link"), "amina")] if "link code" in t)
    await _push_other(other, h, "link", code.split("**")[1])
    _, second_join = await h.indaba.create_community("Nairobi Data", "Africa/Nairobi")
    await h.say("amina", "/join WRONGCODE1")
    await h.say("amina", f"/join {second_join}")
    await h.say("amina", "/wall me passions open contracting")
    await h.say("kwame", "/wall me contributes open contracting dashboards")
    # The meeting: an agenda (one item of hers others voted for, one nobody did), answers,
    # practices (one voted for by others, one not), votes of hers on others' things.
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add Open data", "#cop")
    await h.say("amina", "/agenda add Only mine", "#cop")
    await h.say("kwame", "/agenda add Budgets", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 3", "#cop")
    await h.say("kwame", "/agenda vote 1 3", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    await h.advance(days=11, hours=3)
    await h.say("amina", "Our portal went live in Lilongwe")
    await h.say("kwame", "Procurement data is late")
    await h.say("amina", "/practice Publish data weekly", "#cop")
    await h.say("amina", "/practice Keep a log", "#cop")
    await h.say("kwame", "/practice Office hours", "#cop")
    await h.say("kwame", "/practice vote 1", "#cop")
    await h.say("amina", "/practice vote 3", "#cop")
    await h.advance(days=7)
    async with h.indaba.sessions() as session:
        meeting_id = (await session.scalars(select(Meeting.id))).one()
        amina_ids = set(
            (await session.scalars(select(Member.id).where(Member.display_name == "Amina"))).all()
        )
        kwame_reply = await session.scalar(select(Reply.text).where(Reply.text.contains("late")))
    assert len(amina_ids) == 2 and kwame_reply
    before_text, before = await _figures(h, meeting_id)
    assert "Amina" in before_text

    # /mydata: a file with every row that names her, and a summary in the chat.
    async with h.indaba.sessions() as session:
        naming = await _rows_naming(session, amina_ids)
    sent = [s for s in await h.say("amina", "/mydata") if s.message.attachment is not None]
    assert len(sent) == 1
    attachment = sent[0].message.attachment
    assert attachment is not None and attachment.media_type == "application/json"
    assert attachment.filename.startswith("indaba-my-data-")
    data = json.loads(base64.b64decode(attachment.url.split(",", 1)[1]))
    summary = sent[0].message.text
    assert "Everything Indaba holds about you" in summary and "- answers: 1" in summary
    assert {m["community"] for m in data["memberships"]} == {"Lagos Civic Tech", "Nairobi Data"}
    assert {i["platform"] for i in data["identities"]} == {"memory", "other"}
    assert [a["text"] for a in data["answers"]] == ["Our portal went live in Lilongwe"]
    assert data["answers"][0]["meeting"] == "November meeting"
    assert len(data["wrong_codes"]) == 1 and data["messages_from_you"]
    assert any("Welcome" in m["text"] for m in data["messages_to_you"])
    for table, ids in naming.items():
        section = privacy.SECTIONS[table]
        exported = {row["id"] for row in data[section]}
        assert ids <= exported, f"{table}: rows {ids - exported} are missing from the export"
    assert naming["replies"] and naming["agenda_votes"] and naming["practices"]

    # /forget, confirmed: gone everywhere, figures kept.
    asked = to(await h.say("amina", "/forget"), "amina")[0]
    assert "Erase everything" in asked and "Nairobi Data" in asked and "other" in asked
    farewell = to(await h.say("amina", "1"), "amina")
    assert farewell and "no longer holds anything about you" in farewell[-1]
    await night(h, 1)  # the nightly pruning deletes the sent farewell
    async with h.indaba.sessions() as session:
        assert all(not ids for ids in (await _rows_naming(session, amina_ids)).values())
        everything = await _everything(session)
        replies = (await session.scalars(select(Reply.text))).all()
        former = (
            await session.scalars(select(Member).where(Member.role == privacy.FORMER_ROLE))
        ).all()
        person = await privacy.person_of(session, accounts=[("memory", "amina")])
        export = await privacy.export(session, h.indaba.texts, person, h.clock.now())
    for trace in AMINA:
        at = everything.find(trace)
        assert at < 0, f"{trace!r} is still stored: {everything[max(0, at - 300) : at + 100]}"
    assert replies == ["Procurement data is late"]
    assert {m.display_name for m in former} == {"A former member"}
    assert not person.member_ids and not any(privacy.counts(export).values())
    after_text, after = await _figures(h, meeting_id)
    assert after == before, "the meeting's figures changed"
    assert "Amina" not in after_text and "A former member" in after_text
    # A closed round's ranking is the community's record: its items stay, unnamed.
    assert "Open data" in after_text and "Only mine" in after_text


async def test_forget_needs_the_confirmation_of_the_member_asked(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await h.say("amina", "/forget")
    kept = to(await h.say("amina", "2"), "amina")
    assert kept == ["Nothing was erased."]
    await h.say("amina", "/forget")
    await h.advance(hours=2)
    late = to(await h.say("amina", "1"), "amina")
    assert late and "expired" in late[0]
    async with h.indaba.sessions() as session:
        assert await session.scalar(select(Member).where(Member.display_name == "Amina"))


# -- the operator's commands -----------------------------------------------------------------


def test_operator_exports_and_forgets_a_member(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0

    async def populate() -> None:
        h = await Harness.create(database_url, tmp_path)
        try:
            await h.setup_community(members=("amina", "kwame"))
            await h.say("amina", "/wall me passions budgets")
        finally:
            await h.aclose()

    asyncio.run(populate())
    output = tmp_path / "amina.json"
    exported = indaba(
        "member", "export", "--platform", "memory", "--user", "amina", "-o", str(output), env=env
    )
    assert exported.returncode == 0, exported.stderr
    assert "reads the data of: Lagos Civic Tech" in exported.stdout
    assert json.loads(output.read_text())["wall_entries"][0]["passions"] == "budgets"
    ambiguous = indaba("member", "forget", env=env)
    assert ambiguous.returncode == 1 and "--platform" in ambiguous.stderr
    refused = indaba("member", "forget", "-c", "Lagos Civic Tech", "--name", "Amina", env=env)
    assert refused.returncode == 1
    forgot = indaba(
        "member", "forget", "-c", "Lagos Civic Tech", "--name", "Amina", "--yes", env=env
    )
    assert forgot.returncode == 0, forgot.stderr
    assert "reads the data of: Lagos Civic Tech" in forgot.stdout
    assert "1 memberships erased" in forgot.stdout
    again = indaba("member", "export", "--platform", "memory", "--user", "amina", env=env)
    assert again.returncode == 1 and "holds nothing" in again.stderr

    async def check() -> None:
        from storage.db import create_engine, session_factory

        db = create_engine(database_url)
        try:
            async with session_factory(db)() as session:
                names = (await session.scalars(select(Member.display_name))).all()
                assert "Amina" not in names and "Kwame" in names
        finally:
            await db.dispose()

    asyncio.run(check())


# -- retention: on the timetable, and nothing else ----------------------------------------


async def test_retention_prunes_on_the_timetable_and_keeps_the_figures(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("fatima", "/meeting add 2026-11-12 14:00 November meeting", "#cop")
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, "answers_retention_months": 2}
        first = (
            await session.scalar(select(func.max(OutboxMessage.id))),
            await session.scalar(select(func.max(InboxEvent.id))),
            await session.scalar(select(func.max(ProcessedEvent.id))),
        )
    await h.advance(days=3, hours=3)
    await h.say("amina", "Portal launched")
    _, before = await _figures(h, 1)
    assert before["answered"] == 1

    async def first_days() -> tuple[int, int, int]:
        """What is left of the first day's messages: texts, inbound events, event keys."""
        async with h.indaba.sessions() as session:
            texts = await session.scalar(
                select(func.count()).where(OutboxMessage.id <= first[0], OutboxMessage.text != "")
            )
            inbound = await session.scalar(select(func.count()).where(InboxEvent.id <= first[1]))
            keys = await session.scalar(select(func.count()).where(ProcessedEvent.id <= first[2]))
        return texts or 0, inbound or 0, keys or 0

    kept = await first_days()
    assert all(kept)
    # Four weeks on, the night's pruning finds nothing old enough.
    await night(h, 26)
    assert await first_days() == kept
    # The night after they are 30 days old, the texts and inbound events go.
    await night(h, 2)
    assert await first_days() == (0, 0, 0)
    await h.advance(hours=8)
    # Between the nightly runs nothing is pruned, whatever happens in the chat.
    async with h.indaba.sessions() as session:
        old = OutboxMessage(
            idempotency_key="test:old",
            community_id=1,
            platform="memory",
            conversation_kind="dm",
            conversation_id="kwame",
            text="An old message",
            status="sent",
            next_attempt_at=h.clock.now() - timedelta(days=40),
            created_at=h.clock.now() - timedelta(days=40),
        )
        session.add(old)
        await session.commit()
    await h.say("kwame", "/help")
    await h.say("fatima", "/harvest", "#cop")
    async with h.indaba.sessions() as session:
        assert await session.scalar(select(OutboxMessage.text).where(OutboxMessage.id == old.id))
        assert (await session.scalars(select(Reply))).all()
    # Two months after the meeting its answers go, on the timetable; the figures stay.
    await night(h, 41)
    async with h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply))).all() == []
        assert (await session.scalars(select(Prompt))).all()
        text = await session.scalar(select(OutboxMessage.text).where(OutboxMessage.id == old.id))
        assert text == ""
        runs = (
            await session.scalars(
                select(TimetableRun.detail).where(TimetableRun.step == "retention")
            )
        ).all()
    assert any("pruned 1 answers" in (run or "") for run in runs)
    _, after = await _figures(h, 1)
    assert after["asked"] == before["asked"] and after["answered"] == before["answered"]
