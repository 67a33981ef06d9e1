"""/harvest and its exports: every section with the right figures, anonymised members,
the minutes (date, place, attendees, decisions, actions), hidden items left out."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlalchemy import select, update

from bot.engine.services import actions, attendance
from bot.engine.services.harvest import HarvestFormat, build_harvest, render_export
from storage.models import AgendaItem, Community, Meeting, Member, Practice, Reply
from storage.statuses import AttendanceIntent
from tests.harness import Harness, to


async def _month(h: Harness, *, anonymous: bool = True) -> None:
    """A ranked agenda; Amina answers every question, Thandi one; a voted practice."""
    await h.setup_community(members=("amina", "kwame", "thandi"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    if anonymous:
        await h.say("thandi", "/anonymous on")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add Open data", "#cop")
    await h.say("kwame", "/agenda add Budgets", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 2", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    # The questions go out a week before.
    await h.advance(days=11, hours=3)
    for text in ("Portal launched", "Procurement data", "Open contracting"):
        await h.say("amina", text)
    await h.say("thandi", "Secret insight")
    await h.say("kwame", "/practice Weekly office hours", "#cop")
    await h.say("amina", "/practice vote 1", "#cop")
    await h.advance(days=7)


async def _exports(h: Harness) -> tuple[str, list[list[str]], dict[str, object]]:
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        harvest = await build_harvest(session, h.indaba.texts, community, meeting, "en")
        texts = h.indaba.texts
        markdown = await render_export(session, texts, harvest, HarvestFormat.MD, "en")
        as_csv = await render_export(session, texts, harvest, HarvestFormat.CSV, "en")
        as_json = await render_export(session, texts, harvest, HarvestFormat.JSON, "en")
    assert as_csv.startswith("\ufeff")
    return markdown, list(csv.reader(io.StringIO(as_csv[1:]))), json.loads(as_json)


async def test_harvest_sections_and_exports(harness: Harness) -> None:
    h = harness
    await _month(h)
    refused = await h.say("amina", "/harvest", "#cop")
    assert "Only a facilitator" in to(refused, "amina")[0]
    text = to(await h.say("fatima", "/harvest", "#cop"), "fatima")[0]
    assert "- Amina: Portal launched" in text
    assert "- A member: Secret insight" in text and "Thandi" not in text
    assert "- 1. Budgets · 2 votes" in text and "- 2. Open data · 0 votes" in text
    assert "- Weekly office hours · Kwame · 1 vote" in text
    # Thandi answered one question of three: not a complete answer.
    assert "- Asked: 3" in text and "- Answered every question: 1 (Amina)" in text
    assert "- Answered some: 1" in text and "Response rate: 33%" in text
    posted = await h.say("fatima", "/harvest post", "#cop")
    assert any("# Harvest: November meeting" in t for t in to(posted, "#cop"))
    _, rows, data = await _exports(h)
    assert data["participation"] == {  # type: ignore[index]
        "asked": ["A member", "Amina", "Kwame"],
        "answered": ["Amina"],
        "partly_answered": 1,
        "response_rate": 33,
    }
    assert data["agenda"][0] == {"rank": 1, "title": "Budgets", "votes": 2}  # type: ignore[index]
    assert ["practice", "", "Kwame", "Weekly office hours", "1"] in rows
    assert ["participation", "response_rate", "", "", "33"] in rows


async def test_the_harvest_is_the_minutes_in_three_formats(harness: Harness) -> None:
    h = harness
    await _month(h, anonymous=False)
    now = h.clock.now()
    async with h.indaba.sessions() as session, session.begin():
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        meeting.place = "Room 4, Civic Hub"
        meeting.video_link = "https://meet.example.org/cop"
        members = {m.display_name: m for m in (await session.scalars(select(Member))).all()}
        amina, kwame, thandi = members["Amina"], members["Kwame"], members["Thandi"]
        await attendance.record_intent(session, meeting, amina, AttendanceIntent.YES, now)
        await attendance.record_intent(session, meeting, kwame, AttendanceIntent.MAYBE, now)
        await attendance.record_intent(session, meeting, thandi, AttendanceIntent.NO, now)
        await attendance.mark_attended(session, meeting, [amina.id, kwame.id], now)
        fatima = members["Fatima"]
        await actions.add_decision(session, meeting, "Publish budget data monthly", fatima, now)
        await actions.add_action(
            session, meeting, kwame, "Draft the data policy", date(2026, 12, 4), fatima, now,
            date(2026, 11, 27),
        )  # fmt: skip
    markdown, rows, data = await _exports(h)
    lines = markdown.splitlines()
    assert lines[0] == "# Harvest: November meeting"
    for heading in (
        "## Date and place", "## Attendees", "## Decisions", "## Actions",
        "## Pre-meeting answers", "## Agenda", "## Best practices", "## Participation",
    ):  # fmt: skip
        assert heading in lines
    assert "- Date: Friday, 20 November 2026, 14:00 (Lagos)" in lines
    assert "- Place: Room 4, Civic Hub" in lines
    assert "- Video link: https://meet.example.org/cop" in lines
    assert "- Came (2): Amina, Kwame" in lines
    assert "- Said they would come (1): Amina" in lines and "- Maybe (1): Kwame" in lines
    assert "- Could not come (1): Thandi" in lines
    assert "- Publish budget data monthly" in lines
    assert "- #1 Draft the data policy · Kwame · by Friday 4 December · open" in lines
    question = lines.index(
        "### 1. What is one thing that worked well in your work since we last met?"
    )
    assert lines[question + 1 : question + 3] == [
        "- Amina: Portal launched",
        "- Thandi: Secret insight",
    ]

    # The same content in JSON and CSV.
    assert data["meeting"]["place"] == "Room 4, Civic Hub"  # type: ignore[index]
    assert data["attendance"] == {  # type: ignore[index]
        "came": ["Amina", "Kwame"], "coming": ["Amina"], "maybe": ["Kwame"],
        "not_coming": ["Thandi"],
    }  # fmt: skip
    assert data["decisions"] == [{"text": "Publish budget data monthly"}]  # type: ignore[index]
    assert data["actions"] == [  # type: ignore[index]
        {"number": 1, "text": "Draft the data policy", "owner": "Kwame", "due": "2026-12-04",
         "status": "open"}
    ]  # fmt: skip
    assert data["answers"][0]["answers"] == [  # type: ignore[index]
        {"member": "Amina", "text": "Portal launched"},
        {"member": "Thandi", "text": "Secret insight"},
    ]
    assert ["meeting", "place", "", "Room 4, Civic Hub", ""] in rows
    assert ["attendance", "came", "Kwame", "", ""] in rows
    assert ["decision", "", "", "Publish budget data monthly", ""] in rows
    assert ["action", "1", "Kwame", "Draft the data policy", "open 2026-12-04"] in rows
    assert [r[2:4] for r in rows if r[0] == "answer"][:2] == [
        ["Amina", "Portal launched"], ["Thandi", "Secret insight"],
    ]  # fmt: skip
    # The chat text has them too.
    text = to(await h.say("fatima", "/harvest", "#cop"), "fatima")[0]
    assert "**Decisions**" in text and "- Publish budget data monthly" in text
    assert "- Came (2): Amina, Kwame" in text


async def test_hidden_items_leave_the_harvest_and_every_export(harness: Harness) -> None:
    h = harness
    await _month(h)
    now = h.clock.now()
    async with h.indaba.sessions() as session, session.begin():
        for model, column, value in (
            (Reply, Reply.text, "Procurement data"),
            (Practice, Practice.text, "Weekly office hours"),
            (AgendaItem, AgendaItem.title, "Open data"),
        ):
            await session.execute(update(model).where(column == value).values(hidden_at=now))
    text = to(await h.say("fatima", "/harvest", "#cop"), "fatima")[0]
    markdown, rows, data = await _exports(h)
    for shown in (text, markdown, json.dumps(data), json.dumps(rows)):
        assert "Portal launched" in shown and "Budgets" in shown
        for hidden in ("Procurement data", "Weekly office hours", "Open data"):
            assert hidden not in shown
    # The hidden answer does not count: Amina has answered two questions of three.
    assert data["participation"]["answered"] == []  # type: ignore[index]


def test_answers_are_made_inert_as_markup_escape_makes_them() -> None:
    from bot import markup
    from bot.engine.services.harvest import _inert

    for text in (
        "Plain words, 3 councils & more", "*bold*", "back\\slash", "# heading", "  - item",
        "> quote", "two\nlines", "-", "", "a - b > c # d", "line\n# heading\n- item",
    ):  # fmt: skip
        assert _inert(text) == markup.escape(text), text
