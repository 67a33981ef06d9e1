"""Meetings that change: cancelled, moved, placed, and their calendar invitation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import select

from adapters.memory.adapter import Sent
from bot.engine.services import attendance
from storage.models import Meeting, OutboxMessage
from storage.statuses import MeetingStatus, OutboxStatus
from tests.harness import Harness, to
from tests.test_attendance_actions import press


async def add_meeting(h: Harness, when: str = "2026-11-20 14:00") -> list[Sent]:
    date, time = when.split()
    sent = await h.say("fatima", f"/meeting add {date} {time} November meeting", "#cop")
    assert "Planned: #1" in to(sent, "#cop")[0]
    return sent


def ics_of(sent: Sent) -> Calendar:
    attachment = sent.message.attachment
    assert attachment is not None
    assert attachment.media_type == "text/calendar"
    assert attachment.filename.endswith(".ics")
    head, _, body = attachment.url.partition(",")
    assert head == "data:text/calendar;base64"
    raw = base64.b64decode(body)
    # RFC 5545: lines end in CRLF and are folded at 75 octets.
    assert raw.endswith(b"\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    return Calendar.from_ical(raw)


async def keys(h: Harness) -> list[str]:
    async with h.indaba.sessions() as session:
        return list((await session.scalars(select(OutboxMessage.idempotency_key))).all())


async def test_a_cancelled_meeting_sends_nothing_more(harness: Harness) -> None:
    h = harness
    await h.setup_community()
    await h.say("amina", "/lang fr")
    # Thandi is in New York: her question waits for 09:00 there (14:00 UTC).
    await h.say("thandi", "/tz America/New_York")
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)
    assert {s.message.address.conversation_id for s in sent if "1" in s.message.text} >= {
        "amina",
        "kwame",
    }
    assert not to(sent, "thandi")

    told = await h.say("fatima", "/meeting cancel 1", "#cop")
    assert "Cancelled: #1" in to(told, "fatima")[0]
    assert "est annulée" in to(told, "amina")[0]
    assert "is cancelled" in to(told, "kwame")[0]
    assert "is cancelled" in to(told, "#cop")[0] and "attached" not in to(told, "#cop")[0]
    # The direct messages carry the invitation, marked cancelled for calendars.
    cancelled = ics_of(to_one(told, "kwame")).events[0]
    assert cancelled["STATUS"] == "CANCELLED" and "attached file" in to(told, "kwame")[0]

    # Nothing more: no question for Thandi (her notice waits for her morning), no
    # reminder, brief or take-away question.
    later = await h.advance(days=10)
    assert [t for t in to(later, "thandi") if "is cancelled" not in t] == []
    assert len(to(later, "thandi")) == 1
    assert [s.message.text for s in later if s.message.address.conversation_id != "thandi"] == []
    assert not [k for k in await keys(h) if k.startswith(("reminder:", "brief:", "practice-ask:"))]
    async with h.indaba.sessions() as session:
        meeting = await session.get(Meeting, 1)
        assert meeting is not None and meeting.status == MeetingStatus.CANCELLED
        withdrawn = (
            await session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.conversation_id == "thandi")
            )
        ).all()
        assert OutboxStatus.EXPIRED in withdrawn

    again = await h.say("fatima", "/meeting cancel 1", "#cop")
    assert "cancelled already" in to(again, "fatima")[0]


async def test_moved_then_cancelled_a_waiting_move_notice_is_not_sent(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "thandi"))
    await h.say("thandi", "/tz America/New_York")  # 01:00 there: her notices wait
    await add_meeting(h)
    moved = await h.say("fatima", "/meeting move 1 2026-12-04 14:00", "#cop")
    assert to(moved, "amina") and not to(moved, "thandi")
    await h.say("fatima", "/meeting cancel 1", "#cop")
    morning = await h.advance(hours=12)
    assert len(to(morning, "thandi")) == 1 and "is cancelled" in to(morning, "thandi")[0]


async def test_a_moved_meetings_questions_go_out_once_at_the_new_time(harness: Harness) -> None:
    h = harness
    await h.setup_community()
    await add_meeting(h)
    told = await h.say("fatima", "/meeting move 1 2026-12-04 14:00", "#cop")
    assert "Moved: #1" in to(told, "fatima")[0]
    notice = next(s for s in told if s.message.address.conversation_id == "kwame")
    assert "has moved" in notice.message.text and "4 December 2026" in notice.message.text
    event = ics_of(notice).events[0]
    assert event.start == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert int(event["SEQUENCE"]) > 0

    # The old date's questions day passes with nothing sent.
    sent = await h.advance(days=11, hours=3)
    assert not [s for s in sent if "Question 1 of 3" in s.message.text]
    # A week before the new date they go out, once.
    sent = await h.advance(days=14)
    asked = [s.message.address.conversation_id for s in sent if "Question 1 of 3" in s.message.text]
    assert sorted(asked) == ["amina", "kwame", "thandi"]
    await h.advance(days=5)
    assert await h.indaba.timetable.run_due() == 0
    prompts = [k for k in await keys(h) if k.startswith("prompt:")]
    assert len(prompts) == 3


async def test_a_question_still_waiting_for_a_members_hour_follows_the_move(
    harness: Harness,
) -> None:
    h = harness
    await h.setup_community(members=("amina", "thandi"))
    # Thandi is in New York: her question waits for 09:00 there (14:00 UTC).
    await h.say("thandi", "/tz America/New_York")
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)  # 13 November, 09:00 UTC
    assert to(sent, "amina") and not to(sent, "thandi")
    await h.say("fatima", "/meeting move 1 2026-11-27 14:00", "#cop")
    # Not at 09:00 in New York on the old questions day...
    old_day = await h.advance(hours=6)
    assert [t for t in to(old_day, "thandi") if "Question 1 of 3" in t] == []
    # ...but on the new one, once, with whether she will come.
    new_day = await h.advance(days=7)
    assert len([t for t in to(new_day, "thandi") if "Question 1 of 3" in t]) == 1
    assert len([t for t in to(new_day, "thandi") if "Will you come" in t]) == 1
    assert "Friday 27 November, 08:00 (New York)" in to(new_day, "thandi")[0]
    assert not [t for t in to(new_day, "amina") if "Question 1 of 3" in t]


async def test_moved_after_the_questions_nothing_goes_out_twice(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)
    asked = next(s for s in sent if "Will you come" in s.message.text)
    await press(h, "amina", asked, "yes")
    told = await h.say("fatima", "/meeting move 1 2026-11-27 14:00", "#cop")
    # Her "yes" was for the old time: the notice asks again, with the same choices.
    notice = to_one(told, "amina")
    assert "has moved" in notice.message.text and "Will you come" in notice.message.text
    assert [c.id for c in notice.message.choices] == ["yes", "no", "maybe"]
    async with h.indaba.sessions() as session:
        assert (await attendance.who_is_coming(session, 1)).yes == []
    await press(h, "amina", notice, "maybe")
    async with h.indaba.sessions() as session:
        maybe = (await attendance.who_is_coming(session, 1)).maybe
    assert [m.display_name for m in maybe] == ["Amina"]
    # The old reminder day: nothing; the new one (24 November): the reminder, once.
    old_day = await h.advance(days=4)
    assert not [s for s in old_day if "still open" in s.message.text]
    new_day = await h.advance(days=7)
    reminders = [s for s in new_day if "still open" in s.message.text]
    assert len(reminders) == 1
    # Question 1 went out once, before the move; nothing asked again.
    assert [k for k in await keys(h) if k.startswith("prompt:")] == ["prompt:1"]


async def test_place_invitation_and_list(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    added = await add_meeting(h)
    announced = ics_of(next(s for s in added if s.message.address.conversation_id == "#cop"))
    assert announced.events[0]["SUMMARY"] == "November meeting"

    placed = await h.say(
        "fatima", "/meeting place 1 Room 4, City Hall https://meet.example/cop", "#cop"
    )
    assert (
        "place: Room 4, City Hall, video link: https://meet.example/cop" in to(placed, "fatima")[0]
    )
    refused = await h.say("amina", "/meeting place 1 My kitchen", "#cop")
    assert "Only a facilitator" in to(refused, "amina")[0]

    sent = await h.say("amina", "/meeting ics 1", "#cop")  # asked in the group: to her DM
    assert not to(sent, "#cop")
    calendar = ics_of(to_one(sent, "amina"))
    assert calendar["VERSION"] == "2.0" and "PRODID" in calendar
    event = calendar.events[0]
    assert event["LOCATION"] == "Room 4, City Hall"
    assert event["URL"] == "https://meet.example/cop"
    assert event.start == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert str(event.start.tzinfo) == "Africa/Lagos"
    assert event["UID"] == announced.events[0]["UID"]
    assert "DTSTAMP" in event
    assert calendar.timezones[0].tz_name == "Africa/Lagos"

    shown = await h.say("amina", "/meeting")
    assert "#1" in to(shown, "amina")[0] and "Room 4, City Hall" in to(shown, "amina")[0]

    await h.say("fatima", "/meeting add 2026-12-18 14:00 December meeting", "#cop")
    await h.say("fatima", "/meeting cancel 2", "#cop")
    listed = to(await h.say("amina", "/meeting list"), "amina")[0]
    assert "#1" in listed and "#2" not in listed
    everything = to(await h.say("amina", "/meeting list all"), "amina")[0]
    assert "#2 **December meeting**" in everything and "cancelled" in everything

    no_id = await h.say("fatima", "/meeting cancel next", "#cop")
    assert "e.g. /meeting cancel 3" in to(no_id, "fatima")[0]
    no_id = await h.say("fatima", "/attended Amina", "#cop")
    assert "e.g. /attended 3" in to(no_id, "fatima")[0]
    unknown = await h.say("fatima", "/meeting move 9 2026-12-04 14:00", "#cop")
    assert "no meeting #9" in to(unknown, "fatima")[0]
    past = await h.say("fatima", "/meeting move 1 2026-10-04 14:00", "#cop")
    assert "already passed" in to(past, "fatima")[0]


def to_one(sent: list[Sent], conversation_id: str) -> Sent:
    found = [s for s in sent if s.message.address.conversation_id == conversation_id]
    assert len(found) == 1, found
    return found[0]
