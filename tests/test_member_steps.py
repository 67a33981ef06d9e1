"""The digest, the weekly question and the wall's invitation reach each member at the
step's hour in their own timezone: a member east of the community earlier in UTC (not
later in their day), one west of it later, on either side of a daylight-saving change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.memory.adapter import Sent
from storage.models import Community, WallEntry
from tests.harness import Harness


def dms(sent: list[Sent], marker: str) -> set[str]:
    return {
        s.message.address.conversation_id
        for s in sent
        if not s.message.address.conversation_id.startswith("#") and marker in s.message.text
    }


async def lagos_by_dm(h: Harness, members: dict[str, str], **settings: object) -> None:
    """A Lagos community with no group: each member joins by DM and sets a timezone."""
    setup, join = await h.create_community("Lagos Data", "Africa/Lagos", "en")
    await h.say("fatima", f"/setup {setup}")
    for member, zone in members.items():
        await h.say(member, f"/join {join}")
        await h.say(member, f"/tz {zone}")
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, **settings}
    h.adapter.pop()


async def test_the_digest_reaches_each_member_at_nine_their_time(harness: Harness) -> None:
    h = harness
    members = {"wanjiru": "Africa/Nairobi", "kwame": "Africa/Lagos", "joao": "Europe/Lisbon"}
    await lagos_by_dm(h, members)
    await h.say("kwame", "/practice Publish the budget as open data")
    # Monday 9 November: 09:00 in Nairobi is 06:00 UTC, in Lagos 08:00, in Lisbon 09:00.
    await h.indaba.clock.set(datetime(2026, 11, 9, 5, 59, tzinfo=UTC))
    assert dms(await h.settle(), "This week in") == set()
    assert dms(await h.advance(minutes=2), "This week in") == {"wanjiru"}
    assert dms(await h.advance(hours=1, minutes=58), "This week in") == set()
    assert dms(await h.advance(minutes=2), "This week in") == {"kwame", "fatima"}
    assert dms(await h.advance(hours=1), "This week in") == {"joao"}


async def test_the_wall_invitation_waits_for_each_members_morning(harness: Harness) -> None:
    h = harness
    await lagos_by_dm(h, {"wanjiru": "Africa/Nairobi", "joao": "Europe/Lisbon"})
    await h.say("fatima", "/meeting add 2026-11-20 14:00 workshop Data workshop")
    # Ten days before: Tuesday 10 November, 09:00 in each member's own timezone.
    await h.indaba.clock.set(datetime(2026, 11, 10, 5, 59, tzinfo=UTC))
    assert dms(await h.settle(), "wall") == set()
    sent = await h.advance(minutes=2)
    assert "wanjiru" in dms(sent, "wall") and "joao" not in dms(sent, "wall")
    # Joao writes before his invitation reached him: it is not filed on the wall.
    await h.indaba.clock.set(datetime(2026, 11, 10, 8, 30, tzinfo=UTC))
    await h.settle()
    await h.say("joao", "hello?")
    async with h.indaba.sessions() as session:
        entries = (await session.scalars(select(WallEntry))).all()
    assert all(e.passions != "hello?" for e in entries)
    sent = await h.advance(minutes=31)
    assert "joao" in dms(sent, "wall")


@pytest.fixture
async def winter(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await Harness.create(database_url, tmp_path, start=datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    yield h
    await h.aclose()


async def test_the_weekly_question_keeps_the_members_hour_across_daylight_saving(
    winter: Harness,
) -> None:
    """Lisbon moves to summer time on 28 March 2027; Lagos has none. Rui in Lisbon is
    invited at 10:00 Lisbon time on either side: 10:00 UTC in March, 09:00 UTC in April."""
    h = winter
    await lagos_by_dm(h, {"rui": "Europe/Lisbon"})
    await h.say("fatima", "/tz Europe/Lisbon")
    h.adapter.pop()
    lisbon = {"rui", "fatima"}
    # Wednesday 3 March 2027: whoever is invited hears at 10:00 in Lisbon (10:00 UTC).
    await h.indaba.clock.set(datetime(2027, 3, 3, 9, 59, tzinfo=UTC))
    assert dms(await h.settle(), "") == set()
    first = dms(await h.advance(minutes=2), "")
    assert len(first) == 1 and first < lisbon
    # Wednesday 7 April 2027, summer time in Lisbon: 10:00 there is 09:00 UTC.
    await h.indaba.clock.set(datetime(2027, 4, 7, 8, 59, tzinfo=UTC))
    assert dms(await h.settle(), "") == set()
    second = dms(await h.advance(minutes=2), "")
    assert second == lisbon - first
