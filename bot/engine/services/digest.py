"""The weekly digest: what is new in the community this week, posted to its groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import dots, introductions, practices, rotation
from bot.engine.services.agenda import ranked, round_for, standings
from bot.engine.services.brief import build_brief, shown_name
from bot.engine.services.meetings import next_meeting
from bot.engine.services.moderation import visible
from bot.engine.services.themes import Answer
from bot.engine.texts import Markup, Texts
from storage.models import (
    AgendaItem,
    AgendaRound,
    AgendaVote,
    Community,
    Meeting,
    Member,
    Prompt,
    Reply,
    WallEntry,
)

SHOWN_THEMES = 3


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
    rows = ranked(await standings(session, found)) if found is not None else []
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
    asked = answered = 0
    if meeting is not None:
        brief = await build_brief(
            session, texts, community, meeting, community.language, themes=False
        )
        asked, answered = len(brief.asked), len(brief.answered)
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
    )


async def week_themes(
    session: AsyncSession, texts: Texts, community: Community, since: datetime, now: datetime
) -> list[tuple[str, int]]:
    """The themes of the answers received since ``since``, largest first (labels and
    sizes only: the digest goes to the group, so it quotes nobody)."""
    rows = (
        await session.execute(
            select(Reply.text, Member)
            .join(Prompt, Prompt.id == Reply.prompt_id)
            .join(Meeting, Meeting.id == Prompt.meeting_id)
            .join(Member, Member.id == Reply.member_id)
            .where(
                Meeting.community_id == community.id,
                Reply.received_at >= since,
                Reply.received_at <= now,
                visible(Reply),
            )
            .order_by(Reply.received_at, Reply.id)
        )
    ).all()
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
