"""The member-led weekly question: one member a week is invited to ask the community.

Invitations rotate fairly: the member invited least recently (or never) goes first;
members who declined within ``question_decline_weeks`` and members who opted out are
skipped. When the invited member has not posted a question a day after the
invitation, Indaba posts one from its provocations library instead, going through the
library in order.

One ``question_turns`` row per community and ISO week keeps it to once a week. A
library question is a row with ``posted_at`` set and a status other than ``posted``
(``library``, or ``declined`` when the invited member said no: that is kept, since
the rotation reads it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import directory, timing
from bot.engine.services.brief import shown_name
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.engine.texts import LibraryQuestion, Texts
from bot.messages import Choice
from storage.bulk import insert_ignore
from storage.models import Community, Member, QuestionTurn
from storage.statuses import ContextKind, TurnStatus

# How long an accepting member has to send their question before Indaba posts its own.
ANSWER_WITHIN = timedelta(days=1)
CHOICE_KIND = ContextKind.WEEKLY_QUESTION


def week_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


async def turn_for(session: AsyncSession, community: Community, week: str) -> QuestionTurn | None:
    return await session.scalar(
        select(QuestionTurn).where(
            QuestionTurn.community_id == community.id, QuestionTurn.week == week
        )
    )


async def next_member(
    session: AsyncSession, community: Community, now: datetime, decline_weeks: int
) -> Member | None:
    """The active member invited least recently, leaving out recent decliners."""
    declined = set(
        (
            await session.scalars(
                select(QuestionTurn.member_id).where(
                    QuestionTurn.community_id == community.id,
                    QuestionTurn.status == TurnStatus.DECLINED,
                    QuestionTurn.invited_at >= now - timedelta(weeks=decline_weeks),
                )
            )
        ).all()
    )
    last_invited = dict(
        (
            await session.execute(
                select(QuestionTurn.member_id, func.max(QuestionTurn.invited_at))
                .where(
                    QuestionTurn.community_id == community.id,
                    QuestionTurn.member_id.is_not(None),
                )
                .group_by(QuestionTurn.member_id)
            )
        ).all()
    )
    candidates = [
        m for m in await directory.active_members(session, community.id) if m.id not in declined
    ]
    if not candidates:
        return None
    never = datetime.min.replace(tzinfo=now.tzinfo)
    return min(candidates, key=lambda m: (_aware(last_invited.get(m.id), now) or never, m.id))


def _aware(value: datetime | None, now: datetime) -> datetime | None:
    # SQLite hands back naive datetimes from aggregates.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=now.tzinfo)
    return value


async def invite(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    week: str,
    now: datetime,
    decline_weeks: int,
    step: LocalTime | None = None,
) -> str:
    """Invite this week's member (at ``step``'s local time in their timezone, when given);
    does nothing when the week already has its turn."""
    if await turn_for(session, community, week) is not None:
        return f"{week} already has its question turn"
    member = await next_member(session, community, now, decline_weeks)
    if member is None:
        return "nobody to invite"
    claimed = await insert_ignore(
        session,
        QuestionTurn,
        [
            {
                "community_id": community.id,
                "week": week,
                "member_id": member.id,
                "status": TurnStatus.INVITED,
                "invited_at": now,
            }
        ],
        ["community_id", "week"],
    )
    if not claimed:
        return f"{week} already has its question turn"
    await messenger.to_member(
        session,
        community,
        member,
        f"question-invite:{community.id}:{week}",
        messenger.t(community, member, "question.invite", name=member.display_name),
        choices=(
            Choice("accept", messenger.t(community, member, "question.accept")),
            Choice("decline", messenger.t(community, member, "question.decline")),
        ),
        context={"kind": CHOICE_KIND, "turn_id": claimed[0]},
        not_before=timing.deliver_at(community, member, now, step) if step else None,
    )
    # The timetable keeps and logs this line: a member id, not a name.
    return f"invited member {member.id} to ask the {week} question"


async def answer_invitation(
    session: AsyncSession, turn: QuestionTurn, member: Member, accept: bool, now: datetime
) -> str | None:
    """Record yes or no; returns the key of the text that answers the member."""
    if turn.member_id != member.id:
        return None
    if turn.status != TurnStatus.INVITED or turn.posted_at is not None:
        return "question.answered_already"
    turn.status = TurnStatus.ACCEPTED if accept else TurnStatus.DECLINED
    turn.answered_at = now
    await session.flush()
    return "question.send_it" if accept else "question.declined"


async def awaited_turn(session: AsyncSession, member: Member, now: datetime) -> QuestionTurn | None:
    """The turn whose question this member accepted to send and has not sent yet."""
    return await session.scalar(
        select(QuestionTurn).where(*_awaited(member, now)).order_by(QuestionTurn.id.desc()).limit(1)
    )


def _awaited(member: Member, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        QuestionTurn.member_id == member.id,
        QuestionTurn.status == TurnStatus.ACCEPTED,
        QuestionTurn.posted_at.is_(None),
        QuestionTurn.answered_at >= now - ANSWER_WITHIN,
    )


def any_awaited_turn(member: Member, now: datetime) -> ColumnElement[bool]:
    """Whether :func:`awaited_turn` finds one, as a condition."""
    return exists().where(*_awaited(member, now))


async def post_member_question(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    turn: QuestionTurn,
    member: Member,
    text: str,
    now: datetime,
) -> int:
    turn.status = TurnStatus.POSTED
    turn.text = text
    turn.posted_at = now
    await session.flush()
    return await messenger.to_community(
        session,
        community,
        f"question:{community.id}:{turn.week}",
        messenger.t(
            community,
            None,
            "question.post",
            name=shown_name(member, messenger.texts, community.language),
            question=text,
        ),
    )


def next_provocation(library: list[LibraryQuestion], last_text: str | None, count: int) -> int:
    """The index after the last library question posted (never the same twice running)."""
    for index, question in enumerate(library):
        if last_text is not None and last_text in question.text.values():
            return (index + 1) % len(library)
    return count % len(library)


async def post_library_question(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    week: str,
    now: datetime,
    step: LocalTime | None = None,
) -> str:
    """Indaba's own question, unless a member posted one this week (or it ran already);
    members reached by DM get it at ``step``'s local time in their timezone."""
    library = messenger.texts.provocations
    if not library:
        return "no provocations in the library"
    turn = await turn_for(session, community, week)
    if turn is None:
        # The invitation did not go out (nobody to invite, or Indaba was down).
        return f"nobody was invited in {week}: no question"
    if turn.posted_at is not None:
        return f"{week} question already posted"
    previous = (
        await session.scalars(
            select(QuestionTurn)
            .where(
                QuestionTurn.community_id == community.id,
                QuestionTurn.posted_at.is_not(None),
                QuestionTurn.status != TurnStatus.POSTED,
            )
            .order_by(QuestionTurn.posted_at.desc())
        )
    ).all()
    index = next_provocation(library, previous[0].text if previous else None, len(previous))
    text = library[index].in_language(community.language)
    if turn.status != TurnStatus.DECLINED:
        turn.status = TurnStatus.LIBRARY
    turn.text = text
    turn.posted_at = now
    await session.flush()
    sent = await messenger.to_community(
        session,
        community,
        f"question:{community.id}:{week}",
        messenger.t(community, None, "question.library", question=text),
        at=(step, now) if step is not None else None,
    )
    return f"library question {library[index].key} posted {sent} times"


async def member_question_since(
    session: AsyncSession, texts: Texts, community: Community, since: datetime, language: str
) -> tuple[str, str] | None:
    """The latest question a member posted since ``since``: (who, text)."""
    turn = await session.scalar(
        select(QuestionTurn)
        .where(
            QuestionTurn.community_id == community.id,
            QuestionTurn.status == TurnStatus.POSTED,
            QuestionTurn.posted_at >= since,
        )
        .order_by(QuestionTurn.posted_at.desc())
        .limit(1)
    )
    if turn is None or turn.member_id is None or turn.text is None:
        return None
    member = await session.get(Member, turn.member_id)
    if member is None:
        return None
    return shown_name(member, texts, language), turn.text
