"""Best practices: shared at any time or asked for after a meeting, and upvoted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import attendance, directory
from bot.engine.services.messenger import Messenger
from bot.engine.services.moderation import visible
from bot.engine.services.questions import MAX_ANSWER_LENGTH
from storage.bulk import insert_ignore
from storage.models import Community, Meeting, Member, Practice, PracticeAsk, PracticeVote

MAX_PRACTICE_LENGTH = 1000
# How long a take-away question stays open for a plain reply.
ASK_OPEN_DAYS = 7

assert MAX_PRACTICE_LENGTH <= MAX_ANSWER_LENGTH


class PracticeError(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Scored:
    practice: Practice
    author: Member
    votes: int


async def submit(
    session: AsyncSession,
    community: Community,
    member: Member,
    text: str,
    now: datetime,
    meeting: Meeting | None = None,
) -> Practice:
    """Store a practice exactly as sent (surrounding blank space aside)."""
    if not text.strip():
        raise PracticeError("practice.usage")
    if len(text) > MAX_PRACTICE_LENGTH:
        raise PracticeError("error.too_long", limit=MAX_PRACTICE_LENGTH)
    practice = Practice(
        community_id=community.id,
        member_id=member.id,
        meeting_id=meeting.id if meeting else None,
        text=text.strip(),
        created_at=now,
    )
    session.add(practice)
    await session.flush()
    return practice


async def upvote(
    session: AsyncSession, community: Community, member: Member, practice_id: int, now: datetime
) -> tuple[Practice, bool]:
    """One vote per member and practice; True when this vote is new."""
    practice = await session.get(Practice, practice_id)
    if practice is None or practice.community_id != community.id:
        raise PracticeError("practice.no_such")
    if practice.member_id == member.id:
        raise PracticeError("practice.own")
    added = await insert_ignore(
        session,
        PracticeVote,
        [{"practice_id": practice.id, "member_id": member.id, "voted_at": now}],
        ["practice_id", "member_id"],
    )
    return practice, bool(added)


async def scored(
    session: AsyncSession,
    community: Community,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    meeting: Meeting | None = None,
) -> list[Scored]:
    """Practices with their votes, most votes first, then the earlier one."""
    votes = (
        select(PracticeVote.practice_id, func.count().label("n"))
        .group_by(PracticeVote.practice_id)
        .subquery()
    )
    query = (
        select(Practice, func.coalesce(votes.c.n, 0))
        .outerjoin(votes, votes.c.practice_id == Practice.id)
        .where(Practice.community_id == community.id, visible(Practice))
    )
    if since is not None:
        query = query.where(Practice.created_at >= since)
    if until is not None:
        query = query.where(Practice.created_at < until)
    if meeting is not None:
        query = query.where(Practice.meeting_id == meeting.id)
    rows = (await session.execute(query)).all()
    result = []
    for practice, count in rows:
        author = await session.get(Member, practice.member_id)
        assert author is not None
        result.append(Scored(practice, author, int(count)))
    return sorted(result, key=lambda s: (-s.votes, s.practice.created_at, s.practice.id))


async def votes_since(session: AsyncSession, community: Community, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(PracticeVote)
            .join(Practice, Practice.id == PracticeVote.practice_id)
            .where(Practice.community_id == community.id, PracticeVote.voted_at >= since)
        )
        or 0
    )


async def ask_takeaways(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    now: datetime,
) -> int:
    """Ask every member who came for the one practice they take away from the meeting
    (see :func:`attendance.takeaway_members`)."""
    asked = 0
    members: Sequence[Member] = await attendance.takeaway_members(
        session, meeting.id, await directory.active_members(session, community.id)
    )
    for member in members:
        created = await insert_ignore(
            session,
            PracticeAsk,
            [{"meeting_id": meeting.id, "member_id": member.id, "asked_at": now}],
            ["meeting_id", "member_id"],
        )
        if not created:
            continue
        if await messenger.to_member(
            session,
            community,
            member,
            f"practice-ask:{meeting.id}:{member.id}",
            messenger.t(
                community, member, "practice.ask", name=member.display_name, meeting=meeting.title
            ),
        ):
            asked += 1
    return asked


def _open_asks(member: Member, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        PracticeAsk.member_id == member.id,
        PracticeAsk.answered_at.is_(None),
        PracticeAsk.asked_at > now - timedelta(days=ASK_OPEN_DAYS),
    )


async def open_ask(session: AsyncSession, member: Member, now: datetime) -> PracticeAsk | None:
    return await session.scalar(
        select(PracticeAsk)
        .where(*_open_asks(member, now))
        .order_by(PracticeAsk.asked_at.desc())
        .limit(1)
    )


def any_open_ask(member: Member, now: datetime) -> ColumnElement[bool]:
    """Whether :func:`open_ask` finds one, as a condition."""
    return exists().where(*_open_asks(member, now))
