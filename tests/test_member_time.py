"""Each member in their own time: /tz, the step's hour in the member's timezone, quiet
hours that defer, times shown with their zone, and daylight-saving changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.memory.adapter import Sent
from bot.messages import CommandInvoked, Sender
from storage.models import Community, Member
from tests.harness import Harness, to


def who(sent: list[Sent]) -> set[str]:
    """The members DMed (group posts such as the agenda's are not a step's DM)."""
    return {
        s.message.address.conversation_id
        for s in sent
        if not s.message.address.conversation_id.startswith("#")
    }


async def nairobi_community(h: Harness, members: tuple[str, ...]) -> None:
    setup, _ = await h.create_community("Ubuntu Data", "Africa/Nairobi", "en")
    await h.say("fatima", f"/setup {setup}", "#cop")
    for member in members:
        await h.say(member, f"hello from {member}", "#cop")
    h.adapter.pop()


async def test_tz_sets_a_members_timezone_and_helps_with_a_wrong_name(harness: Harness) -> None:
    h = harness
    await nairobi_community(h, ("amina",))
    (current,) = to(await h.say("amina", "/tz"), "amina")
    assert "**Africa/Nairobi** (the community's)" in current
    assert "never between 21:00 and 07:00" in current
    (wrong,) = to(await h.say("amina", "/tz Africa/Nairobbi"), "amina")
    assert 'I don\'t know the timezone "Africa/Nairobbi". Did you mean Africa/Nairobi' in wrong
    # Monday 2 November 2026, 06:00 UTC is 06:00 in Lisbon (winter time).
    (done,) = to(await h.say("amina", "/tz lisbon"), "amina")
    assert done.startswith("Done: your timezone is **Europe/Lisbon**; it is Monday 2 November")
    assert "06:00 for you" in done
    await h.say("amina", "/lang pt")
    (shown,) = to(await h.say("amina", "/tz"), "amina")
    assert "**Europe/Lisbon**:" in shown and "segunda-feira, 2 de novembro, 06:00" in shown


async def test_a_slack_profiles_timezone_is_the_members_until_they_set_one(
    harness: Harness,
) -> None:
    h = harness
    await nairobi_community(h, ())
    _, join = await h.indaba.create_community("Lagos Data", "Africa/Nairobi")
    # Slack gives the profile's timezone with every event (Sender.timezone).
    sender = Sender(h.adapter.name, "kwame", "Kwame", timezone="Africa/Lagos")
    await h.adapter.push(
        CommandInvoked(h.conversation("dm", "kwame"), sender, "m1", command="join", args=join)
    )
    await h.settle()
    async with h.indaba.sessions() as session:
        member = await session.scalar(select(Member).where(Member.display_name == "Kwame"))
    assert member is not None and member.timezone == "Africa/Lagos"
    (shown,) = to(await h.say("kwame", "/tz"), "kwame")
    assert "**Africa/Lagos**:" in shown and "(the community's)" not in shown


async def test_each_member_gets_the_questions_at_nine_their_time(harness: Harness) -> None:
    h = harness
    await nairobi_community(h, ("amina", "kwame", "joao"))
    await h.say("kwame", "/tz Africa/Lagos")
    await h.say("joao", "/tz Europe/Lisbon")
    await h.say("fatima", "/meeting add 2026-11-19 14:00 November meeting", "#cop")
    # 09:00 in Nairobi is 06:00 UTC on Thursday 12 November.
    sent = await h.advance(days=9, hours=23)
    assert who(sent) == set()
    sent = await h.advance(hours=1)
    assert who(sent) == {"amina"}
    amina, coming = to(sent, "amina")  # the first question, then whether she will come
    assert "is on Thursday 19 November, 14:00 (Nairobi)" in amina
    assert "Will you come" in coming
    # Joao writes before his question reached him: not taken as its answer.
    early = to(await h.say("joao", "Good morning"), "joao")
    assert "no open question for you right now" in early[0]
    sent = await h.advance(hours=2)  # 08:00 UTC, 09:00 in Lagos
    assert who(sent) == {"kwame"}
    assert "is on Thursday 19 November, 12:00 (Lagos)" in to(sent, "kwame")[0]
    sent = await h.advance(hours=1)  # 09:00 UTC, 09:00 in Lisbon
    assert who(sent) == {"joao"}
    assert "is on Thursday 19 November, 11:00 (Lisbon)" in to(sent, "joao")[0]
    answered = to(await h.say("joao", "Our portal went live"), "joao")
    assert "Question 2 of 3" in answered[1]


async def test_quiet_hours_keep_a_late_step_for_the_morning(
    database_url: str, tmp_path: Path
) -> None:
    h = await Harness.create(database_url, tmp_path)
    try:
        await nairobi_community(h, ("amina", "leila"))
        await h.say("leila", "/tz Asia/Dubai")
        async with h.indaba.sessions() as session, session.begin():
            community = await session.scalar(select(Community))
            assert community is not None
            # A late send time, 20:30; the clock jumps past Leila's (16:30 UTC in Dubai)
            # to 17:31 UTC, 21:31 in Dubai: caught up inside her quiet hours.
            community.settings = {**community.settings, "send_time": "20:30"}
        await h.say("fatima", "/meeting add 2026-11-19 14:00 November meeting", "#cop")
        sent = await h.advance(days=10, hours=11, minutes=31)  # 17:31 UTC on the 12th
        assert who(sent) == {"amina"}
        sent = await h.advance(hours=8)  # 01:31 UTC: 05:31 in Dubai, still quiet
        assert who(sent) == set()
        sent = await h.advance(hours=2)  # 03:31 UTC: past 07:00 in Dubai
        assert who(sent) == {"leila"}
    finally:
        await h.aclose()


@pytest.fixture
async def winter(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await Harness.create(database_url, tmp_path, start=datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    yield h
    await h.aclose()


async def test_the_members_hour_stays_right_across_daylight_saving(winter: Harness) -> None:
    """Lisbon moves to summer time on 28 March 2027, Cairo on 30 April: a member in Lisbon
    of a Cairo community gets the questions at 09:00 Lisbon time on either side."""
    h = winter
    setup, _ = await h.create_community("Nile Data", "Africa/Cairo", "en")
    await h.say("fatima", f"/setup {setup}", "#cop")
    await h.say("rui", "hello", "#cop")
    await h.say("rui", "/tz Europe/Lisbon")
    h.adapter.pop()
    await h.say("fatima", "/meeting add 2027-03-18 14:00 March meeting", "#cop")
    await h.say("fatima", "/meeting add 2027-04-08 14:00 April meeting", "#cop")
    # 11 March: 09:00 in Lisbon (WET, UTC+0) is 09:00 UTC.
    assert "rui" not in who(await h.advance(days=10, hours=2, minutes=59))
    assert "rui" in who(await h.advance(minutes=2))
    for _ in range(3):
        await h.say("rui", "an answer")
    h.adapter.pop()
    # 1 April: 09:00 in Lisbon (WEST, UTC+1) is 08:00 UTC.
    await h.indaba.clock.set(datetime(2027, 4, 1, 7, 59, tzinfo=UTC))
    assert "rui" not in who(await h.settle())
    sent = await h.advance(minutes=2)
    assert "rui" in who(sent)
    assert "is on Thursday 8 April, 13:00 (Lisbon)" in to(sent, "rui")[0]
