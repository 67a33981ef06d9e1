"""The timetable: offsets, catch-up after downtime, skipping what is too late, no repeats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.engine.community_settings import CommunitySettings
from storage.models import Community, TimetableRun
from tests.harness import Harness, to


async def plan_meeting(h: Harness) -> None:
    await h.setup_community(members=("amina",))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")


async def runs(h: Harness) -> dict[str, TimetableRun]:
    async with h.indaba.sessions() as session:
        return {r.key: r for r in (await session.scalars(select(TimetableRun))).all()}


async def test_default_offsets_at_nine_local_time(harness: Harness) -> None:
    await plan_meeting(harness)
    plan = await harness.indaba.timetable.plan(harness.clock.now())
    due = {o.step: o.due_at for o in plan}
    # Lagos is UTC+1: 09:00 local is 08:00 UTC.
    assert due["questions"] == datetime(2026, 11, 13, 8, 0, tzinfo=UTC)
    assert due["reminder"] == datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
    assert due["brief"] == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)


async def test_offsets_are_configurable_per_community(harness: Harness) -> None:
    h = harness
    await plan_meeting(h)
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = CommunitySettings(
            questions_days_before=10, reminder_days_before=5, brief_days_before=2, send_time="07:30"
        ).model_dump()
    due = {o.step: o.due_at for o in await h.indaba.timetable.plan(h.clock.now())}
    assert due["questions"] == datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
    assert due["reminder"] == datetime(2026, 11, 15, 6, 30, tzinfo=UTC)
    assert due["brief"] == datetime(2026, 11, 18, 6, 30, tzinfo=UTC)


async def test_missed_step_runs_on_restart_when_still_useful(harness: Harness) -> None:
    h = harness
    await plan_meeting(h)
    # "Down" from before the questions were due until two days after: nothing ran.
    h.clock._offset += datetime(2026, 11, 15, 10, 0, tzinfo=UTC) - h.clock.now()
    # (The week's digest ran at the start: 09:00 Monday had come in the east already.)
    assert [key for key, run in (await runs(h)).items() if run.meeting_id] == []
    sent = await h.settle()  # what a start does: run what is due
    assert "Question 1 of 3" in to(sent, "amina")[0]
    assert (await runs(h))["questions:1"].outcome == "done"


async def test_step_too_late_is_skipped_with_a_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await plan_meeting(h)
    # Down until after the meeting started: asking questions now would be useless.
    h.clock._offset += datetime(2026, 11, 20, 15, 0, tzinfo=UTC) - h.clock.now()
    with caplog.at_level(logging.INFO, logger="bot.runtime.timetable"):
        sent = await h.settle()
    assert sent == []
    assert {r.outcome for r in (await runs(h)).values() if r.meeting_id} == {"skipped"}
    assert any("skipped questions:1" in record.getMessage() for record in caplog.records)


async def test_firing_twice_sends_once(harness: Harness) -> None:
    h = harness
    await plan_meeting(h)
    first = await h.advance(days=11, hours=3)
    assert len(first) == 2  # the first question, and whether they will come
    for _ in range(3):
        await h.indaba.timetable.run_due()
        await h.indaba.timetable.resync()
    assert await h.settle() == []
