"""A meeting as an iCalendar invitation (RFC 5545), for calendars to import.

The event's UID is the same for every version of one meeting, and its SEQUENCE grows
with each move, so a calendar that imported it updates its entry instead of adding a
second one; a cancelled meeting keeps its UID with ``STATUS:CANCELLED``. It is published
(``METHOD:PUBLISH``): Indaba keeps no organizer's address, which an iTIP cancellation
would need.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event

from bot.engine.services.meetings import is_cancelled, local_time
from bot.messages import Attachment
from storage.models import Community, Meeting

PRODID = "-//Indaba//Communities of Practice//EN"
MEDIA_TYPE = "text/calendar"
# Meetings have no stored end; calendars show them this long.
LENGTH = timedelta(hours=1)
WORKSHOP_LENGTH = timedelta(hours=3)


def uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}-{int(meeting.created_at.timestamp())}@indaba"


def sequence(meeting: Meeting) -> int:
    """0 as planned; after a move or a cancellation, the seconds since it was planned
    (always larger than any earlier version's)."""
    changed = meeting.cancelled_at or meeting.moved_at
    if changed is None:
        return 0
    return max(1, int((changed - meeting.created_at).total_seconds()))


def ics(community: Community, meeting: Meeting, now: datetime) -> bytes:
    """The meeting's invitation, as the bytes of a ``.ics`` file."""
    cancelled = is_cancelled(meeting)
    start = local_time(community, meeting.starts_at)
    length = WORKSHOP_LENGTH if meeting.kind == "workshop" else LENGTH
    description = [f"{community.name} · #{meeting.id}"]
    if meeting.video_link:
        description.append(meeting.video_link)
    event = Event.new(
        uid=uid(meeting),
        summary=meeting.title,
        start=start,
        end=start + length,
        stamp=now.astimezone(UTC),
        sequence=sequence(meeting),
        location=meeting.place or meeting.video_link,
        url=meeting.video_link,
        description="\n".join(description),
    )
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar = Calendar.new(
        prodid=PRODID,
        method="PUBLISH",
        name=community.name,
        uid=f"calendar-{uid(meeting)}",
        subcomponents=[event],
    )
    # The zone's rules around the meeting only, not decades of them.
    calendar.add_missing_timezones(date(start.year - 1, 1, 1), date(start.year + 2, 1, 1))
    body: bytes = calendar.to_ical()
    return body


def filename(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}.ics"


def attachment(community: Community, meeting: Meeting, now: datetime) -> Attachment:
    """The invitation as a file to send with a message: the bytes travel in a
    ``data:`` URL, made now."""
    body = base64.b64encode(ics(community, meeting, now)).decode("ascii")
    return Attachment(
        url=f"data:{MEDIA_TYPE};base64,{body}", filename=filename(meeting), media_type=MEDIA_TYPE
    )
