"""Attendance: who said they will come to a meeting (yes / no / maybe) and who came."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.services.messenger import Messenger
from bot.messages import Choice
from bot.runtime.outbox import Envelope
from storage.bulk import insert_ignore
from storage.models import Attendance, Community, Meeting, Member, Prompt
from storage.statuses import AttendanceIntent, ContextKind


@dataclass(frozen=True, slots=True)
class Coming:
    """What the members of a meeting said when asked whether they will come."""

    yes: list[Member] = field(default_factory=list)
    maybe: list[Member] = field(default_factory=list)
    no: list[Member] = field(default_factory=list)


def where_text(messenger: Messenger, meeting: Meeting, language: str) -> str:
    """The meeting's place and video link as a sentence, or "" when it has neither."""
    if not meeting.place and not meeting.video_link:
        return ""
    return messenger.texts.render(
        "meeting.where", language, place=meeting.place or "", link=meeting.video_link or ""
    )


def ask_envelope(
    messenger: Messenger, community: Community, meeting: Meeting, member: Member
) -> Envelope | None:
    """The question whether the member will come, with yes / no / maybe as choices
    (numbered where there are no buttons); None when the member cannot be reached."""
    language = messenger.language(community, member)
    texts = messenger.texts
    return messenger.member_envelope(
        community,
        member,
        f"attendance:{meeting.id}:{member.id}",
        texts.render(
            "attendance.ask",
            language,
            meeting=meeting.title,
            id=meeting.id,
            when=i18n.format_datetime(i18n.local(meeting.starts_at, community, member), language),
            where=where_text(messenger, meeting, language),
        ),
        choices=tuple(
            Choice(intent.value, texts.render(f"attendance.{intent.value}", language))
            for intent in (AttendanceIntent.YES, AttendanceIntent.NO, AttendanceIntent.MAYBE)
        ),
        context={"kind": ContextKind.ATTENDANCE.value, "meeting_id": meeting.id},
    )


async def takeaway_members(
    session: AsyncSession, meeting_id: int, members: Sequence[Member]
) -> list[Member]:
    """Who is asked for their take-away: those marked present once a facilitator marked
    attendance; until then everyone but those who said they would not come."""
    rows = {a.member_id: a for a, _ in await _rows(session, meeting_id)}
    if any(a.attended for a in rows.values()):
        return [m for m in members if m.id in rows and rows[m.id].attended]
    return [
        m for m in members if m.id not in rows or rows[m.id].intent != AttendanceIntent.NO.value
    ]


async def _rows(session: AsyncSession, meeting_id: int) -> Sequence[tuple[Attendance, Member]]:
    rows = await session.execute(
        select(Attendance, Member)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting_id)
        .order_by(Member.display_name, Member.id)
    )
    return [(attendance, member) for attendance, member in rows]


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


async def community_members(session: AsyncSession, community_id: int) -> list[Member]:
    """The members who can be marked as present, by name."""
    rows = await session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.role != "former")
        .order_by(Member.display_name, Member.id)
    )
    return list(rows.all())


async def unmark(session: AsyncSession, meeting: Meeting, member_ids: Iterable[int]) -> None:
    """Take back a mark given by mistake."""
    ids = list(member_ids)
    if not ids:
        return
    await session.execute(
        update(Attendance)
        .where(Attendance.meeting_id == meeting.id, Attendance.member_id.in_(ids))
        .values(attended=None, marked_at=None)
        .execution_options(synchronize_session="fetch")
    )


async def forget_intents(session: AsyncSession, meeting_id: int) -> set[int]:
    """The meeting moved: what members said about coming was for the old time. Returns
    the members who had been asked (they are asked again)."""
    asked = set(
        (
            await session.scalars(
                select(Prompt.member_id).where(
                    Prompt.meeting_id == meeting_id, Prompt.asked_at.is_not(None)
                )
            )
        ).all()
    )
    await session.execute(
        update(Attendance)
        .where(Attendance.meeting_id == meeting_id)
        .values(intent=None, intent_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return asked


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
