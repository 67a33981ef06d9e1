"""Attendance: who said they will come to a meeting (yes / no / maybe) and who came."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_ignore
from storage.models import Attendance, Meeting, Member
from storage.statuses import AttendanceIntent


@dataclass(frozen=True, slots=True)
class Coming:
    """What the members of a meeting said when asked whether they will come."""

    yes: list[Member] = field(default_factory=list)
    maybe: list[Member] = field(default_factory=list)
    no: list[Member] = field(default_factory=list)


async def _rows(session: AsyncSession, meeting_id: int) -> Sequence[tuple[Attendance, Member]]:
    rows = await session.execute(
        select(Attendance, Member)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting_id)
        .order_by(Member.display_name, Member.id)
    )
    return [(attendance, member) for attendance, member in rows.tuples()]


async def who_is_coming(session: AsyncSession, meeting_id: int) -> Coming:
    """The members who said yes, maybe or no, each list by name."""
    coming = Coming()
    for attendance, member in await _rows(session, meeting_id):
        if attendance.intent == AttendanceIntent.YES:
            coming.yes.append(member)
        elif attendance.intent == AttendanceIntent.MAYBE:
            coming.maybe.append(member)
        elif attendance.intent == AttendanceIntent.NO:
            coming.no.append(member)
    return coming


async def who_came(session: AsyncSession, meeting_id: int) -> list[Member]:
    """The members a facilitator marked as present, by name (empty until marked)."""
    return [m for a, m in await _rows(session, meeting_id) if a.attended]


async def is_marked(session: AsyncSession, meeting_id: int) -> bool:
    """Whether a facilitator marked anyone as present for the meeting."""
    found = await session.scalar(
        select(Attendance.id)
        .where(Attendance.meeting_id == meeting_id, Attendance.attended.is_(True))
        .limit(1)
    )
    return found is not None


async def record_intent(
    session: AsyncSession,
    meeting: Meeting,
    member: Member,
    intent: AttendanceIntent,
    now: datetime,
) -> Attendance:
    """A member's answer to "will you come?"; a later answer replaces the first."""
    attendance = await _get_or_add(session, meeting.id, member.id)
    attendance.intent = intent.value
    attendance.intent_at = now
    await session.flush()
    return attendance


async def mark_attended(
    session: AsyncSession, meeting: Meeting, member_ids: Iterable[int], now: datetime
) -> int:
    """A facilitator marks these members as present; returns how many were newly marked."""
    marked = 0
    for member_id in dict.fromkeys(member_ids):
        attendance = await _get_or_add(session, meeting.id, member_id)
        if not attendance.attended:
            marked += 1
        attendance.attended = True
        attendance.marked_at = now
    await session.flush()
    return marked


async def _get_or_add(session: AsyncSession, meeting_id: int, member_id: int) -> Attendance:
    await insert_ignore(
        session,
        Attendance,
        [{"meeting_id": meeting_id, "member_id": member_id}],
        ["meeting_id", "member_id"],
    )
    attendance = await session.scalar(
        select(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.member_id == member_id
        )
    )
    assert attendance is not None
    return attendance
