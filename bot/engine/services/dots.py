"""Connecting the dots for a meeting: its themes, the themes that recur across meetings,
those never put on an agenda, and the members who have gone quiet.

The brief and the harvest show what this finds; nothing here formats text. Members are
named by the caller's ``name`` (so anonymous members stay "A member").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import text_model
from bot.engine.services.moderation import visible
from bot.engine.services.themes import LABEL_TERMS, MIN_SIZE, Answer, Theme, find_themes
from storage.models import (
    AgendaItem,
    AgendaRound,
    AgendaVote,
    Community,
    Meeting,
    MeetingQuestion,
    Member,
    Practice,
    PracticeVote,
    Prompt,
    Reply,
)

# How far back themes are followed, in meetings; how many of each kind are offered.
HISTORY_MEETINGS = 12
SHOWN = 3
# Answers of each past meeting the recurring themes are found in, past which a sample.
HISTORY_SAMPLE = 100


@dataclass(frozen=True, slots=True)
class Recurring:
    """A theme raised at two meetings or more."""

    theme: Theme
    meetings: list[datetime]
    first: str


@dataclass(slots=True)
class Dots:
    questions: list[list[Theme]]
    meeting: list[Theme]
    recurring: list[Recurring] = field(default_factory=list)
    # Themes raised by two members or more that no agenda item ever took up.
    proposals: list[Recurring] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)
    quiet_meetings: int = 0


async def themes_of(answers: Sequence[Answer], language: str) -> list[Theme]:
    """:func:`find_themes` off the event loop: a year of answers takes a moment."""
    return await asyncio.to_thread(find_themes, text_model.default(), list(answers), language)


async def _meetings_up_to(session: AsyncSession, meeting: Meeting, limit: int) -> list[Meeting]:
    rows = await session.scalars(
        select(Meeting)
        .where(
            Meeting.community_id == meeting.community_id,
            Meeting.starts_at <= meeting.starts_at,
            Meeting.cancelled_at.is_(None),
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def answers_of(
    session: AsyncSession,
    meetings: Sequence[Meeting],
    name: Callable[[Member], str],
    per_meeting: int | None = None,
) -> list[Answer]:
    """The visible answers to the questions of ``meetings``, oldest first, each with its
    question's number as the brief shows it; with ``per_meeting``, at most that many of
    each meeting's, spread over its answers."""
    ids = [m.id for m in meetings]
    questions = (
        await session.scalars(
            select(MeetingQuestion)
            .where(MeetingQuestion.meeting_id.in_(ids), MeetingQuestion.removed_at.is_(None))
            .order_by(MeetingQuestion.meeting_id, MeetingQuestion.position, MeetingQuestion.id)
        )
    ).all()
    number: dict[int, int] = {}
    counted: dict[int, int] = {}
    for question in questions:
        counted[question.meeting_id] = counted.get(question.meeting_id, 0) + 1
        number[question.id] = counted[question.meeting_id]
    query = (
        select(Reply, Prompt, Member)
        .join(Prompt, Prompt.id == Reply.prompt_id)
        .join(Member, Member.id == Reply.member_id)
        .where(visible(Reply))
        .order_by(Reply.received_at, Reply.id)
    )
    if per_meeting is None:
        rows = list((await session.execute(query.where(Prompt.meeting_id.in_(ids)))).all())
    else:
        sizes = await session.execute(
            select(Prompt.meeting_id, func.count())
            .join(Reply, Reply.prompt_id == Prompt.id)
            .where(Prompt.meeting_id.in_(ids), visible(Reply))
            .group_by(Prompt.meeting_id)
        )
        rows = []
        for meeting_id, size in sizes:
            chosen = query.where(Prompt.meeting_id == meeting_id)
            if size > per_meeting:
                chosen = chosen.where(Reply.id % -(-size // per_meeting) == 0)
            rows.extend((await session.execute(chosen.limit(per_meeting))).all())
        rows.sort(key=lambda row: (row[0].received_at, row[0].id))
    return [
        Answer(
            member=name(member),
            text=reply.text,
            question=number[prompt.question_id],
            member_id=member.id,
            meeting_id=prompt.meeting_id,
            at=reply.received_at,
        )
        for reply, prompt, member in rows
        if prompt.question_id in number
    ]


def _covered(theme: Theme, agenda: Sequence[set[str]]) -> bool:
    """Whether an agenda item took the theme up: it has all the words of one of the
    theme's top terms."""
    terms = [set(stems.split()) for stems in theme.stems[:LABEL_TERMS]]
    return any(term <= item for item in agenda for term in terms)


async def _agenda_words(session: AsyncSession, community: Community) -> list[set[str]]:
    model = text_model.default()
    items = (
        await session.execute(
            select(AgendaItem.title, AgendaItem.detail)
            .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
            .where(AgendaRound.community_id == community.id, visible(AgendaItem))
        )
    ).all()
    return [
        model.keywords(f"{title} {detail or ''}", default=community.language)
        for title, detail in items
    ]


async def history(
    session: AsyncSession,
    community: Community,
    meeting: Meeting,
    name: Callable[[Member], str],
    language: str,
) -> tuple[list[Recurring], list[Recurring]]:
    """Themes raised at more than one meeting, and themes no agenda ever took up."""
    meetings = await _meetings_up_to(session, meeting, HISTORY_MEETINGS)
    starts = {m.id: m.starts_at for m in meetings}
    answers = await answers_of(session, meetings, name, HISTORY_SAMPLE)
    themes = await themes_of(answers, language)
    agenda = await _agenda_words(session, community)
    recurring, proposals = [], []
    for theme in themes:
        raised = sorted({starts[a.meeting_id] for a in theme.answers if a.meeting_id in starts})
        first = min(theme.answers, key=lambda a: (a.at or meeting.starts_at, a.meeting_id or 0))
        found = Recurring(theme, raised, first.member)
        if len(raised) > 1:
            recurring.append(found)
        if theme.members > 1 and not _covered(theme, agenda):
            proposals.append(found)
    recurring.sort(key=lambda r: (-len(r.meetings), -r.theme.members, r.theme.label))
    proposals.sort(key=lambda r: (-r.theme.members, r.theme.label))
    return recurring[:SHOWN], proposals[:SHOWN]


async def quiet_members(
    session: AsyncSession, community: Community, meeting: Meeting
) -> tuple[list[Member], int]:
    """Members who neither answered, proposed nor voted in the last N meetings (the
    community's ``quiet_meetings``), N included; none until there have been N."""
    count = CommunitySettings.of(community.settings).quiet_meetings
    meetings = await _meetings_up_to(session, meeting, count)
    if len(meetings) < count:
        return [], count
    ids = [m.id for m in meetings]
    oldest = min(m.starts_at for m in meetings)
    queries = (
        select(Prompt.member_id)
        .join(Reply, Reply.prompt_id == Prompt.id)
        .where(Prompt.meeting_id.in_(ids)),
        select(AgendaItem.member_id)
        .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
        .where(AgendaRound.meeting_id.in_(ids)),
        select(AgendaVote.member_id)
        .join(AgendaItem, AgendaItem.id == AgendaVote.item_id)
        .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
        .where(AgendaRound.meeting_id.in_(ids)),
        select(PracticeVote.member_id)
        .join(Practice, Practice.id == PracticeVote.practice_id)
        .where(Practice.meeting_id.in_(ids)),
    )
    # Asked of the database, so that only the quiet members are loaded, not everyone.
    quiet = await session.scalars(
        select(Member)
        .where(
            Member.community_id == community.id,
            Member.opted_out.is_(False),
            Member.role == "member",
            Member.joined_at <= oldest,
            *(Member.id.not_in(query) for query in queries),
        )
        .order_by(Member.id)
    )
    return list(quiet.all()), count


async def connect(
    session: AsyncSession,
    community: Community,
    meeting: Meeting,
    questions: Sequence[Sequence[Answer]],
    name: Callable[[Member], str],
    language: str,
    *,
    split: bool = False,
    across_meetings: bool = True,
) -> Dots:
    """Everything the brief shows about this meeting's answers and its members.

    With ``split`` (a large meeting, whose answers are samples), the themes are found
    once across all the answers and each question's are their answers to it, instead of
    one search per question. Without ``across_meetings``, only this meeting's themes (no
    recurring themes, proposals or quiet voices, which the harvest does not show).
    """
    everything = [a for answers in questions for a in answers]
    meeting_themes = await themes_of(everything, language)
    if split:
        per_question = [
            [
                replace(theme, answers=mine)
                for theme in meeting_themes
                if len(mine := [a for a in theme.answers if a.question == number]) >= MIN_SIZE
            ]
            for number in range(1, len(questions) + 1)
        ]
    else:
        per_question = [await themes_of(answers, language) for answers in questions]
    dots = Dots(per_question, meeting_themes)
    if not across_meetings:
        return dots
    dots.recurring, dots.proposals = await history(session, community, meeting, name, language)
    quiet, dots.quiet_meetings = await quiet_members(session, community, meeting)
    dots.quiet = [name(m) for m in quiet]
    return dots
