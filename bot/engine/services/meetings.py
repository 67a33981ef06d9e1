"""Meetings: monthly meetings and quarterly workshops, planned, moved or cancelled.

A meeting's timetable (questions, reminder, brief, agenda, take-away) is derived from
its start, and each step runs once per meeting (its key names the meeting, not the
time), so a moved meeting's steps follow it and what already went out is not sent
again; a cancelled meeting's steps stop, and what waits in the outbox for it is
withdrawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Community, Meeting, OutboxMessage, Prompt
from storage.statuses import MeetingStatus, OutboxStatus, PromptStatus

MAX_PLACE_LENGTH = 500
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
# The outbox keys of what is sent for one meeting: "<prefix>:<meeting id>[:...]".
MEETING_KEYS = (
    "reminder",
    "brief",
    "questions-done",
    "attendance",
    "agenda-open",
    "agenda-ballot",
    "agenda-ranking",
    "practice-ask",
    "wall-refresh",
    # A move's notice still waiting (quiet hours) says nothing true once it is cancelled.
    "meeting-moved",
)
WAITING = (OutboxStatus.PENDING, OutboxStatus.HELD)


class MeetingKind(StrEnum):
    MEETING = "meeting"
    WORKSHOP = "workshop"


class MeetingError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_local(community: Community, date: str, clock_time: str) -> datetime:
    """``2026-12-10`` and ``14:00`` in the community's timezone, as an aware datetime."""
    try:
        naive = datetime.fromisoformat(f"{date}T{clock_time}")
    except ValueError:
        raise MeetingError("error.meeting_when") from None
    if naive.tzinfo is not None:
        raise MeetingError("error.meeting_when")
    return naive.replace(tzinfo=ZoneInfo(community.timezone))


async def add_meeting(
    session: AsyncSession,
    community: Community,
    starts_at: datetime,
    title: str,
    kind: MeetingKind,
    now: datetime,
) -> Meeting:
    if starts_at <= now:
        raise MeetingError("error.meeting_past")
    title = title.strip() or ("Quarterly workshop" if kind is MeetingKind.WORKSHOP else "Meeting")
    meeting = Meeting(
        community_id=community.id,
        kind=kind.value,
        title=title[:300],
        starts_at=starts_at,
        created_at=now,
    )
    session.add(meeting)
    await session.flush()
    return meeting


async def next_meeting(session: AsyncSession, community_id: int, now: datetime) -> Meeting | None:
    return await session.scalar(
        select(Meeting)
        .where(
            Meeting.community_id == community_id,
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at > now,
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )


async def latest_meeting(session: AsyncSession, community_id: int, now: datetime) -> Meeting | None:
    """The meeting that most recently started, else the next one."""
    started = await session.scalar(
        select(Meeting)
        .where(
            Meeting.community_id == community_id,
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at <= now,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    return started or await next_meeting(session, community_id, now)


async def upcoming(session: AsyncSession, since: datetime) -> Sequence[Meeting]:
    rows = await session.scalars(
        select(Meeting)
        .where(Meeting.cancelled_at.is_(None), Meeting.starts_at > since)
        .order_by(Meeting.starts_at)
    )
    return rows.all()


def local_time(community: Community, when: datetime) -> datetime:
    return when.astimezone(ZoneInfo(community.timezone))


def is_cancelled(meeting: Meeting) -> bool:
    return meeting.cancelled_at is not None or meeting.status == MeetingStatus.CANCELLED


async def find_meeting(session: AsyncSession, community_id: int, meeting_id: int) -> Meeting | None:
    """The meeting with this id, if it is the community's."""
    meeting = await session.get(Meeting, meeting_id)
    return meeting if meeting is not None and meeting.community_id == community_id else None


async def meetings_of(
    session: AsyncSession,
    community_id: int | None = None,
    *,
    since: datetime | None = None,
    cancelled: bool = True,
) -> Sequence[Meeting]:
    """Meetings by start (of one community when given; from ``since`` when given)."""
    query = select(Meeting).order_by(Meeting.starts_at, Meeting.id)
    if community_id is not None:
        query = query.where(Meeting.community_id == community_id)
    if since is not None:
        query = query.where(Meeting.starts_at > since)
    if not cancelled:
        query = query.where(Meeting.cancelled_at.is_(None))
    return (await session.scalars(query)).all()


async def cancel_meeting(session: AsyncSession, meeting: Meeting, now: datetime) -> int:
    """Cancel a meeting that has not started: its steps stop, its open questions are
    withdrawn and what still waits in the outbox for it is not sent. Returns how many
    waiting messages were withdrawn."""
    if is_cancelled(meeting):
        raise MeetingError("meeting.already_cancelled")
    if meeting.starts_at <= now:
        raise MeetingError("meeting.already_started")
    meeting.status = MeetingStatus.CANCELLED.value
    meeting.cancelled_at = now
    prompt_ids = list(
        (await session.scalars(select(Prompt.id).where(Prompt.meeting_id == meeting.id))).all()
    )
    await session.execute(
        update(Prompt)
        .where(
            Prompt.meeting_id == meeting.id,
            Prompt.status.in_((PromptStatus.QUEUED, PromptStatus.ASKED)),
        )
        .values(status=PromptStatus.WITHDRAWN)
        .execution_options(synchronize_session="fetch")
    )
    keys = [f"prompt:{prompt_id}" for prompt_id in prompt_ids]
    prefixes = [f"{prefix}:{meeting.id}" for prefix in MEETING_KEYS]
    clauses = [OutboxMessage.idempotency_key == p for p in prefixes] + [
        OutboxMessage.idempotency_key.startswith(f"{p}:", autoescape=True) for p in prefixes
    ]
    waiting = list(
        (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.community_id == meeting.community_id,
                    OutboxMessage.status.in_(WAITING),
                    or_(*clauses),
                )
            )
        ).all()
    )
    for start in range(0, len(keys), 500):
        waiting.extend(
            (
                await session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.status.in_(WAITING),
                        OutboxMessage.idempotency_key.in_(keys[start : start + 500]),
                    )
                )
            ).all()
        )
    for row in waiting:
        row.status = OutboxStatus.EXPIRED
        row.last_error = "meeting cancelled"
    await session.flush()
    return len(waiting)


async def move_meeting(
    session: AsyncSession, meeting: Meeting, starts_at: datetime, now: datetime
) -> datetime:
    """Move a meeting that has not started to ``starts_at``; returns the old start.

    Its timetable follows (each step once per meeting), so what went out already is
    not sent again and what had not is sent at the new time (questions still waiting
    for a member's own hour: :meth:`QuestionService.follow_move`).
    """
    if is_cancelled(meeting):
        raise MeetingError("meeting.already_cancelled")
    if meeting.starts_at <= now:
        raise MeetingError("meeting.already_started")
    if starts_at <= now:
        raise MeetingError("error.meeting_past")
    if starts_at == meeting.starts_at:
        raise MeetingError("meeting.same_time")
    old = meeting.starts_at
    meeting.starts_at = starts_at
    meeting.moved_at = now
    await session.flush()
    return old


def set_place(meeting: Meeting, text: str) -> None:
    """Where the meeting is held: a link in ``text`` is its video link, the rest its
    place; ``-`` clears both."""
    text = " ".join(text.split())
    if not text:
        raise MeetingError("meeting.place_usage")
    if text == "-":
        meeting.place = meeting.video_link = None
        return
    if len(text) > MAX_PLACE_LENGTH:
        raise MeetingError("error.too_long")
    link = _LINK.search(text)
    place = _LINK.sub(" ", text) if link else text
    place = " ".join(place.split()).strip(" ,;-")
    if link:
        meeting.video_link = link.group(0).rstrip(".,;)")
    meeting.place = place or (meeting.place if link else None)
