"""The weekly digest: posted once on Monday, not on an empty week; /digest previews it."""

from __future__ import annotations

from tests.harness import Harness, to


async def test_digest_once_on_monday_and_not_on_an_empty_week(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("fatima", "/meeting add 2026-11-30 14:00 November meeting", "#cop")
    # Monday 2 Nov, 09:00 Lagos: nothing has happened yet, so no digest.
    first = await h.advance(hours=3)
    assert not [t for t in to(first, "#cop") if "This week in" in t]
    refused = await h.say("amina", "/digest", "#cop")
    assert "Only a facilitator can use /digest" in to(refused, "amina")[0]
    empty = await h.say("fatima", "/digest", "#cop")
    assert "Nothing new" in to(empty, "fatima")[0]
    await h.say("amina", "/practice Share slides before the meeting", "#cop")
    await h.say("kwame", "/practice vote 1", "#cop")
    preview = to(await h.say("fatima", "/digest", "#cop"), "fatima")[0]
    assert "Share slides before the meeting · 1 vote" in preview
    # Monday 9 Nov, 09:00 Lagos (08:00 UTC): one digest in the group.
    sent = await h.advance(days=7)
    digests = [t for t in to(sent, "#cop") if "This week in" in t]
    assert len(digests) == 1
    assert "November meeting** is in 21 days" in digests[0]
    # However often the job fires, one digest per week.
    assert await h.indaba.timetable.run_due() == 0
    assert not [t for t in to(await h.settle(), "#cop") if "This week in" in t]
    # The next week has nothing new: no digest.
    sent = await h.advance(days=7)
    assert not [t for t in to(sent, "#cop") if "This week in" in t]
