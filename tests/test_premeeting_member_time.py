"""The questions, the reminder and the brief reach each member at the step's hour in
their own timezone: a member east of the community at their morning, not later in their
day, one west of it later, on the right day, once, across a restart and daylight saving;
the reminder never before the question it repeats, the brief after the last reminder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.memory.adapter import Sent
from storage.models import Member, OutboxMessage, TimetableRun
from storage.statuses import OutboxStatus
from tests.harness import Harness, to
from tests.test_member_steps import dms, lagos_by_dm

QUESTION = "Question 1 of 3"
REMINDER = "still open"
BRIEF = "# Brief:"
# A Lagos community (UTC+1, no daylight saving); Wanjiru lives east of it, Joao west.
MEMBERS = {"wanjiru": "Africa/Nairobi", "kwame": "Africa/Lagos", "joao": "Europe/Lisbon"}


async def make_facilitator(h: Harness, name: str) -> None:
    async with h.indaba.sessions() as session, session.begin():
        member = await session.scalar(select(Member).where(Member.display_name == name))
        assert member is not None
        member.role = "facilitator"


async def sent_rows(h: Harness, prefix: str) -> list[OutboxMessage]:
    async with h.indaba.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.startswith(prefix),
                OutboxMessage.status == OutboxStatus.SENT,
            )
            .order_by(OutboxMessage.sent_at)
        )
        return list(rows.all())


async def prompt_rows(h: Harness) -> list[OutboxMessage]:
    async with h.indaba.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("prompt:"))
        )
        return list(rows.all())


async def at(h: Harness, moment: datetime) -> list[Sent]:
    await h.indaba.clock.set(moment)
    return await h.settle()


async def test_questions_reminder_and_brief_at_each_members_own_nine(
    database_url: str, tmp_path: Path
) -> None:
    h = await Harness.create(database_url, tmp_path)
    try:
        await lagos_by_dm(h, {**MEMBERS, "baraka": "Africa/Nairobi"})
        await make_facilitator(h, "Baraka")
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting")
        h.adapter.pop()
        # Friday 13 November, a week before: 09:00 in Nairobi is 06:00 UTC.
        assert dms(await at(h, datetime(2026, 11, 13, 5, 59, tzinfo=UTC)), QUESTION) == set()
        sent = await h.advance(minutes=2)
        assert dms(sent, QUESTION) == {"wanjiru"}
        assert "is on Friday 20 November, 16:00 (Nairobi)" in to(sent, "wanjiru")[0]
        await h.say("wanjiru", "We opened the budget data")
    finally:
        await h.aclose()
    # A new process on the same database in the middle of the day: nothing twice.
    h = await Harness.create(database_url, tmp_path, start=h.clock.now())
    try:
        assert dms(await h.settle(), "") == set()
        assert dms(await at(h, datetime(2026, 11, 13, 7, 59, tzinfo=UTC)), QUESTION) == set()
        assert dms(await h.advance(minutes=2), QUESTION) == {"kwame"}  # 09:00 in Lagos
        for _ in range(3):
            await h.say("kwame", "an answer")
        sent = await h.advance(hours=1)  # 09:00 UTC, 09:00 in Lisbon
        assert dms(sent, QUESTION) == {"joao"}
        assert "is on Friday 20 November, 13:00 (Lisbon)" in to(sent, "joao")[0]
        async with h.indaba.sessions() as session:
            ran = (
                await session.scalars(
                    select(TimetableRun.key).where(TimetableRun.step == "questions")
                )
            ).all()
        assert sorted(ran) == ["questions:1", "questions:1:east"]
        # Each member's first question once, then the next ones as they answered.
        assert len(await sent_rows(h, "prompt:")) == 2 + 3 + 1

        # Tuesday 17 November, the reminder, to who has questions left, at their 09:00.
        reminder_day = datetime(2026, 11, 17, 5, 59, tzinfo=UTC)
        assert dms(await at(h, reminder_day), REMINDER) == set()
        sent = await h.advance(minutes=2)
        assert dms(sent, REMINDER) == {"wanjiru"}
        assert "2 of your 3 questions are still open" in to(sent, "wanjiru")[0]
        assert dms(await h.advance(hours=2), REMINDER) == set()  # Kwame answered all
        assert dms(await h.advance(hours=1), REMINDER) == {"joao"}

        # Thursday 19 November, the brief: Baraka in Nairobi at his 09:00, Fatima at hers
        # in Lagos, after every reminder; hers is made at her hour, with the answer Joao
        # gave after Baraka's went out.
        assert dms(await at(h, datetime(2026, 11, 19, 5, 59, tzinfo=UTC)), BRIEF) == set()
        sent = await h.advance(minutes=2)
        assert dms(sent, BRIEF) == {"baraka"}
        assert "Our portal went live" not in to(sent, "baraka")[0]
        await h.say("joao", "Our portal went live")
        assert dms(await h.advance(hours=1, minutes=58), BRIEF) == set()
        sent = await h.advance(minutes=2)
        assert dms(sent, BRIEF) == {"fatima"}
        assert "Our portal went live" in to(sent, "fatima")[0]
        assert dms(await h.advance(days=1), BRIEF) == set()
        reminders = await sent_rows(h, "reminder:")
        briefs = await sent_rows(h, "brief:")
        assert len(reminders) == 2 and len(briefs) == 2
        last_reminder = max(r.sent_at for r in reminders if r.sent_at)
        assert all(b.sent_at and b.sent_at > last_reminder for b in briefs)
    finally:
        await h.aclose()


async def test_the_reminder_never_reaches_a_member_before_the_question(
    database_url: str, tmp_path: Path
) -> None:
    """A meeting moved, in the small hours, to two days ahead: its questions and its
    reminder are due at once. The questions wait for the end of the quiet hours; the
    reminder, useful only until the brief at 09:00, waits for the question too rather
    than reaching Kwame first, in the night."""
    h = await Harness.create(database_url, tmp_path)
    try:
        await lagos_by_dm(h, {"kwame": "Africa/Lagos"}, quiet_hours="21:00-09:30")
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting")
        # Tuesday 10 November, 23:00 in Lagos: the meeting moves to Thursday.
        await at(h, datetime(2026, 11, 10, 22, 0, tzinfo=UTC))
        moved = await h.say("fatima", "/meeting move 1 2026-11-12 14:00")
        assert dms(moved, QUESTION) == set() and dms(moved, REMINDER) == set()
        sent = await at(h, datetime(2026, 11, 11, 8, 29, tzinfo=UTC))  # 09:29 in Lagos
        assert dms(sent, QUESTION) == set() and dms(sent, REMINDER) == set()
        kwame = to(await h.advance(minutes=2), "kwame")
        question = next(i for i, text in enumerate(kwame) if QUESTION in text)
        reminder = next(i for i, text in enumerate(kwame) if REMINDER in text)
        assert question < reminder
    finally:
        await h.aclose()


@pytest.fixture
async def spring(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await Harness.create(database_url, tmp_path, start=datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    yield h
    await h.aclose()


async def test_a_member_daylight_saving_puts_east_of_the_community_keeps_their_hour(
    spring: Harness,
) -> None:
    """Paris moves to summer time on 28 March 2027, Lagos has none: Amelie in Paris is in
    the community's hour in March (UTC+1) and east of it in April (UTC+2), and gets the
    questions and the reminder at 09:00 Paris time on either side."""
    h = spring
    await lagos_by_dm(h, {"amelie": "Europe/Paris", "kwame": "Africa/Lagos"})
    await h.say("fatima", "/meeting add 2027-03-18 14:00 March meeting")
    await h.say("fatima", "/meeting add 2027-04-08 14:00 April meeting")
    h.adapter.pop()
    # 11 March: 09:00 in Paris and in Lagos are both 08:00 UTC.
    assert dms(await at(h, datetime(2027, 3, 11, 7, 59, tzinfo=UTC)), QUESTION) == set()
    assert dms(await h.advance(minutes=2), QUESTION) == {"amelie", "kwame"}
    # 1 April: 09:00 in Paris is 07:00 UTC, an hour before Lagos.
    assert dms(await at(h, datetime(2027, 4, 1, 6, 59, tzinfo=UTC)), QUESTION) == set()
    sent = await h.advance(minutes=2)
    assert dms(sent, QUESTION) == {"amelie"}
    assert "is on Thursday 8 April, 15:00 (Paris)" in to(sent, "amelie")[0]
    assert dms(await h.advance(hours=1), QUESTION) == {"kwame"}
    # 5 April, the reminder, in the same order.
    assert dms(await at(h, datetime(2027, 4, 5, 6, 59, tzinfo=UTC)), REMINDER) == set()
    assert dms(await h.advance(minutes=2), REMINDER) == {"amelie"}
    assert dms(await h.advance(hours=1), REMINDER) == {"kwame"}


async def test_a_meeting_moved_between_the_two_runs_asks_each_member_once_for_the_new_day(
    harness: Harness,
) -> None:
    h = harness
    await lagos_by_dm(h, MEMBERS)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting")
    # Friday 13 November, 05:00 UTC: Wanjiru's question waits for 09:00 in Nairobi, the
    # others' run has not come; the meeting moves a week later.
    await at(h, datetime(2026, 11, 13, 5, 0, tzinfo=UTC))
    await h.say("fatima", "/meeting move 1 2026-11-27 14:00")
    assert dms(await at(h, datetime(2026, 11, 19, 23, 0, tzinfo=UTC)), QUESTION) == set()
    # A week before the new date, each at their 09:00, the question worded for it.
    sent = await at(h, datetime(2026, 11, 20, 6, 1, tzinfo=UTC))
    assert dms(sent, QUESTION) == {"wanjiru"}
    assert "is on Friday 27 November, 16:00 (Nairobi)" in to(sent, "wanjiru")[0]
    assert dms(await at(h, datetime(2026, 11, 20, 8, 1, tzinfo=UTC)), QUESTION) == {"kwame"}
    assert dms(await at(h, datetime(2026, 11, 20, 9, 1, tzinfo=UTC)), QUESTION) == {"joao"}
    assert dms(await h.advance(days=6), QUESTION) == set()
    assert len(await sent_rows(h, "prompt:")) == 3


async def test_a_meeting_cancelled_before_an_eastern_members_hour_asks_her_nothing(
    harness: Harness,
) -> None:
    h = harness
    await lagos_by_dm(h, MEMBERS)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting")
    await at(h, datetime(2026, 11, 13, 5, 0, tzinfo=UTC))
    assert [r.status for r in await prompt_rows(h)] == [OutboxStatus.PENDING]  # Wanjiru's
    await h.say("fatima", "/meeting cancel 1")
    assert dms(await h.advance(days=8), QUESTION) == set()
    assert [(r.status, r.last_error) for r in await prompt_rows(h)] == [
        (OutboxStatus.EXPIRED, "meeting cancelled")
    ]
