"""Meetings: monthly meetings and quarterly workshops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Community, Meeting


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
