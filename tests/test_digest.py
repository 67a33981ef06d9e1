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


async def test_digest_counts_complete_answers_and_shows_actions_and_who_is_coming(
    harness: Harness,
) -> None:
    from datetime import date

    from sqlalchemy import select

    from bot.engine.services import actions, attendance
    from storage.models import Meeting, Member
    from storage.statuses import ActionStatus, AttendanceIntent

    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=11, hours=3)
    for text in ("Portal launched", "Procurement data", "Open contracting"):
        await h.say("amina", text)
    await h.say("kwame", "We trained 40 clerks")
    now = h.clock.now()
    async with h.indaba.sessions() as session, session.begin():
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        members = {m.display_name: m for m in (await session.scalars(select(Member))).all()}
        amina, kwame, fatima = members["Amina"], members["Kwame"], members["Fatima"]
        await attendance.record_intent(session, meeting, amina, AttendanceIntent.YES, now)
        await attendance.record_intent(session, meeting, kwame, AttendanceIntent.MAYBE, now)
        today = date(2026, 11, 13)
        for owner, text in ((kwame, "Draft the data policy"), (amina, "Share the portal")):
            await actions.add_action(
                session, meeting, owner, text, date(2026, 12, 4), fatima, now, today
            )
        shared = await actions.find_action(session, meeting.community_id, 2)
        assert shared is not None
        actions.set_status(shared.action, ActionStatus.DONE, now, today)
    preview = to(await h.say("fatima", "/digest", "#cop"), "fatima")[0]
    # Kwame answered one question of three: not a complete answer.
    assert "**Participation:** 1 of 2 answered every pre-meeting question (50%)." in preview
    assert "**Coming to November meeting:** 1 yes, 1 maybe." in preview
    assert "**Actions:** 1 open, 1 done this week." in preview
    assert "- #1 Draft the data policy · Kwame · by Friday 4 December" in preview
