"""The weekly digest: what is new in the community this week, posted to its groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import actions, dots, introductions, practices, rotation
from bot.engine.services.agenda import counts_shown, ranked, round_for, standings
from bot.engine.services.brief import participation, shown_name
from bot.engine.services.meetings import next_meeting
from bot.engine.services.moderation import visible
from bot.engine.services.questions import question_set
from bot.engine.services.themes import Answer
from bot.engine.texts import Markup, Texts
from storage.models import (
    AgendaItem,
    AgendaRound,
    AgendaVote,
    Attendance,
    Community,
    Meeting,
    Member,
    Prompt,
    Reply,
    WallEntry,
)
from storage.statuses import AttendanceIntent

SHOWN_THEMES = 3
SHOWN_ACTIONS = 5
# Answers of the week the themes are found in, past which a sample spread over them.
THEME_SAMPLE = 1000


@dataclass(slots=True)
class Digest:
    new_items: list[str]
    standings: list[tuple[str, int]]
    meeting: str | None
    days: int | None
    wall_new: int
    introductions: int
    leaders: list[tuple[str, int]]
    new_practices: int
    practice_votes: int
    agenda_votes: int
    asked: int
    answered: int
    # The member-led weekly question: (who asked, the question).
    question: tuple[str, str] | None = None
    # The week's themes across the answers received: (label, how many members).
    themes: list[tuple[str, int]] = field(default_factory=list)
    # The community's open actions (the first SHOWN_ACTIONS: number, text, owner, due),
    # how many are open, and how many were done this week.
    open_actions: list[tuple[int, str, str, datetime]] = field(default_factory=list)
    open_count: int = 0
    done: int = 0
    # Who said they will come to the next meeting: yes and maybe.
    coming: int = 0
    maybe: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.new_items
            or self.wall_new
            or self.introductions
            or self.new_practices
            or self.practice_votes
            or self.agenda_votes
            or self.question
            or self.themes
            or self.done
        )


async def build_digest(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    now: datetime,
    since: datetime | None = None,
) -> Digest:
    """What is new since ``since`` (default: a week before ``now``)."""
    since = since or now - timedelta(days=7)
    meeting = await next_meeting(session, community.id, now)
    found = await round_for(session, meeting) if meeting is not None else None
    new_items = list(
        (
            await session.scalars(
                select(AgendaItem.title)
                .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
                .where(
                    AgendaRound.community_id == community.id,
                    AgendaItem.created_at >= since,
                    AgendaItem.withdrawn_at.is_(None),
                    AgendaItem.merged_into_id.is_(None),
                    visible(AgendaItem),
                )
                .order_by(AgendaItem.id)
            )
        ).all()
    )
    agenda_votes = int(
        await session.scalar(
            select(func.count())
            .select_from(AgendaVote)
            .join(AgendaItem, AgendaItem.id == AgendaVote.item_id)
            .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
            .where(AgendaRound.community_id == community.id, AgendaVote.voted_at >= since)
        )
        or 0
    )
    # Standings are a count of votes: none while a community hides them until the close.
    shown = found is not None and counts_shown(found, CommunitySettings.of(community.settings))
    rows = ranked(await standings(session, found)) if found is not None and shown else []
    wall_new = int(
        await session.scalar(
            select(func.count())
            .select_from(WallEntry)
            .where(WallEntry.community_id == community.id, WallEntry.completed_at >= since)
        )
        or 0
    )
    made = await introductions.made_between(session, community, since, now + timedelta(seconds=1))
    scored = await practices.scored(session, community)
    asked = answered = coming = maybe = 0
    if meeting is not None:
        total = len(await question_set(session, texts, meeting))
        asked, answered = await participation(session, meeting, total)
        intents = dict(
            (
                await session.execute(
                    select(Attendance.intent, func.count())
                    .where(Attendance.meeting_id == meeting.id)
                    .group_by(Attendance.intent)
                )
            ).all()
        )
        coming = int(intents.get(AttendanceIntent.YES, 0))
        maybe = int(intents.get(AttendanceIntent.MAYBE, 0))
    still_open = await actions.open_actions(session, community.id)
    done = await actions.done_actions(session, community.id, since)
    return Digest(
        new_items=new_items,
        standings=[(s.item.title, s.votes) for s in rows[:5]],
        meeting=meeting.title if meeting else None,
        days=(meeting.starts_at - now).days if meeting else None,
        wall_new=wall_new,
        introductions=len(made),
        leaders=[(s.practice.text, s.votes) for s in scored[:3]],
        new_practices=sum(1 for s in scored if s.practice.created_at >= since),
        practice_votes=await practices.votes_since(session, community, since),
        agenda_votes=agenda_votes,
        asked=asked,
        answered=answered,
        question=await rotation.member_question_since(
            session, texts, community, since, community.language
        ),
        themes=await week_themes(session, texts, community, since, now),
        open_actions=[
            (
                a.number,
                a.action.text,
                shown_name(a.owner, texts, community.language),
                _noon(a.action.due_on),
            )
            for a in still_open[:SHOWN_ACTIONS]
        ],
        open_count=len(still_open),
        done=len(done),
        coming=coming,
        maybe=maybe,
    )


def _noon(day: date) -> datetime:
    """A due date as a moment the date filters take (the day itself is what they show)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


async def week_themes(
    session: AsyncSession, texts: Texts, community: Community, since: datetime, now: datetime
) -> list[tuple[str, int]]:
    """The themes of the answers received since ``since`` (or of a sample of them),
    largest first (labels and sizes only: the digest goes to the group, so it quotes
    nobody)."""
    where = (
        Meeting.community_id == community.id,
        Reply.received_at >= since,
        Reply.received_at <= now,
        visible(Reply),
    )
    joined = (
        select()
        .select_from(Reply)
        .join(Prompt, Prompt.id == Reply.prompt_id)
        .join(Meeting, Meeting.id == Prompt.meeting_id)
        .where(*where)
    )
    size = int(await session.scalar(joined.add_columns(func.count())) or 0)
    query = (
        joined.add_columns(Reply.text, Member)
        .join(Member, Member.id == Reply.member_id)
        .order_by(Reply.received_at, Reply.id)
        .limit(THEME_SAMPLE)
    )
    if size > THEME_SAMPLE:
        query = query.where(Reply.id % -(-size // THEME_SAMPLE) == 0)
    rows = (await session.execute(query)).all()
    language = community.language
    answers = [
        Answer(shown_name(member, texts, language), text, 0, member.id) for text, member in rows
    ]
    found = await dots.themes_of(answers, language)
    return [(theme.label, theme.members) for theme in found[:SHOWN_THEMES]]


def render_digest(texts: Texts, community: Community, digest: Digest) -> str:
    return texts.render(
        "digest.text",
        community.language,
        community=community.name,
        d=digest,
        themes=Markup(texts.render("themes.digest", community.language, themes=digest.themes)),
        rate=round(digest.answered * 100 / digest.asked) if digest.asked else 0,
    )
