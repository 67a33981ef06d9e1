"""The harvest of a meeting: everything the community produced around it, in one place.

:func:`build_harvest` gathers the data; the renderers turn it into chat text (neutral
markup, which is also valid Markdown), CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import introductions, practices
from bot.engine.services.agenda import round_for
from bot.engine.services.brief import Brief, build_brief, name_of, shown_name, stream_answers
from bot.engine.services.themes import Theme
from bot.engine.texts import Markup, Texts
from storage.models import Community, Meeting, Member, WallEntry


@dataclass(slots=True)
class Harvest:
    community: str
    meeting: str
    meeting_id: int
    starts_at: datetime
    brief: Brief
    answers: list[tuple[str, list[tuple[str, str]]]]
    agenda: list[tuple[int, str, int]]
    wall_new: list[str]
    wall_refreshed: list[str]
    introductions: list[tuple[str, str, str]]
    practices: list[tuple[str, str, int]]
    asked: list[str]
    answered: list[str]
    # The meeting's themes, and each question's (in the order of ``answers``).
    themes: list[Theme] = field(default_factory=list)
    question_themes: list[list[Theme]] = field(default_factory=list)

    @property
    def rate(self) -> int:
        return round(self.brief.response_rate * 100)


async def _window(session: AsyncSession, meeting: Meeting) -> tuple[datetime, datetime]:
    """From the previous meeting's start to the next one's (or a month after this one)."""
    previous = await session.scalar(
        select(Meeting.starts_at)
        .where(
            Meeting.community_id == meeting.community_id,
            Meeting.starts_at < meeting.starts_at,
            Meeting.cancelled_at.is_(None),
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    following = await session.scalar(
        select(Meeting.starts_at)
        .where(
            Meeting.community_id == meeting.community_id,
            Meeting.starts_at > meeting.starts_at,
            Meeting.cancelled_at.is_(None),
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )
    return (
        previous or meeting.starts_at - timedelta(days=60),
        following or meeting.starts_at + timedelta(days=30),
    )


async def build_harvest(
    session: AsyncSession, texts: Texts, community: Community, meeting: Meeting, language: str
) -> Harvest:
    brief = await build_brief(session, texts, community, meeting, language)
    since, until = await _window(session, meeting)

    async def name(member_id: int) -> str:
        member = await session.get(Member, member_id)
        return shown_name(member, texts, language) if member else "?"

    found = await round_for(session, meeting)
    agenda = [(r["rank"], r["title"], r["votes"]) for r in (found.ranking if found else [])]
    walls = (
        await session.scalars(select(WallEntry).where(WallEntry.community_id == community.id))
    ).all()
    wall_new = [
        await name(e.member_id)
        for e in walls
        if e.completed_at is not None and since <= e.completed_at < until
    ]
    wall_refreshed = [
        await name(e.member_id)
        for e in walls
        if e.refreshed_at is not None and since <= e.refreshed_at < until
    ]
    intros = [
        (await name(i.member_a_id), await name(i.member_b_id), i.topics)
        for i in await introductions.made_between(session, community, since, until)
    ]
    scored = await practices.scored(session, community, since=since, until=until)
    return Harvest(
        community=community.name,
        meeting=meeting.title,
        meeting_id=meeting.id,
        starts_at=meeting.starts_at,
        brief=brief,
        answers=[
            (q.text, await _all_answers(session, texts, q.question.id, language))
            for q in brief.questions
        ],
        agenda=agenda,
        wall_new=wall_new,
        wall_refreshed=wall_refreshed,
        introductions=intros,
        practices=[
            (s.practice.text, shown_name(s.author, texts, language), s.votes) for s in scored
        ],
        asked=[p.name for p in brief.asked],
        answered=[p.name for p in brief.answered],
        themes=brief.connected.meeting if brief.connected else [],
        question_themes=[q.themes for q in brief.questions],
    )


async def _all_answers(
    session: AsyncSession, texts: Texts, question_id: int, language: str
) -> list[tuple[str, str]]:
    return [
        (name_of(name, anonymous, texts, language), text)
        async for rows in stream_answers(session, question_id)
        for name, anonymous, text, _, _ in rows
    ]


def render_text(texts: Texts, harvest: Harvest, language: str) -> str:
    """Chat text in neutral markup; the same text is the Markdown export."""
    return texts.render(
        "harvest.text",
        language,
        community=harvest.community,
        meeting=harvest.meeting,
        answers=harvest.answers,
        agenda=harvest.agenda,
        wall_new=harvest.wall_new,
        wall_refreshed=harvest.wall_refreshed,
        introductions=harvest.introductions,
        practices=harvest.practices,
        asked=harvest.asked,
        answered=harvest.answered,
        rate=harvest.rate,
        themes=Markup(texts.render("themes.harvest", language, themes=harvest.themes)),
    )


def as_dict(harvest: Harvest) -> dict[str, Any]:
    return {
        "community": harvest.community,
        "meeting": {
            "id": harvest.meeting_id,
            "title": harvest.meeting,
            "starts_at": harvest.starts_at.isoformat(),
        },
        "answers": [
            {
                "question": q,
                "answers": [{"member": w, "text": t} for w, t in rows],
                "themes": [t.as_dict() for t in themes],
            }
            for (q, rows), themes in zip(harvest.answers, _per_question(harvest), strict=True)
        ],
        "themes": [t.as_dict() for t in harvest.themes],
        "agenda": [{"rank": r, "title": t, "votes": v} for r, t, v in harvest.agenda],
        "wall": {"new": harvest.wall_new, "refreshed": harvest.wall_refreshed},
        "introductions": [{"members": [a, b], "topics": t} for a, b, t in harvest.introductions],
        "practices": [{"text": t, "member": w, "votes": v} for t, w, v in harvest.practices],
        "participation": {
            "asked": harvest.asked,
            "answered": harvest.answered,
            "response_rate": harvest.rate,
        },
    }


def _per_question(harvest: Harvest) -> list[list[Theme]]:
    found = harvest.question_themes
    return found if len(found) == len(harvest.answers) else [[] for _ in harvest.answers]


def render_json(harvest: Harvest) -> str:
    return json.dumps(as_dict(harvest), ensure_ascii=False, indent=2)


def render_csv(harvest: Harvest) -> str:
    """One row per fact: section, item, member, text, figure."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "member", "text", "figure"])
    for question, rows in harvest.answers:
        for who, text in rows:
            writer.writerow(["answer", question, who, text, ""])
    # A theme's answers: its label, who wrote each, the text and the question's number.
    for theme in harvest.themes:
        for quote in theme.answers:
            writer.writerow(["theme", theme.label, quote.member, quote.text, quote.question])
    for rank, title, votes in harvest.agenda:
        writer.writerow(["agenda", rank, "", title, votes])
    for who in harvest.wall_new:
        writer.writerow(["wall", "new", who, "", ""])
    for who in harvest.wall_refreshed:
        writer.writerow(["wall", "refreshed", who, "", ""])
    for a, b, topics in harvest.introductions:
        writer.writerow(["introduction", topics, f"{a} & {b}", "", ""])
    for text, who, votes in harvest.practices:
        writer.writerow(["practice", "", who, text, votes])
    writer.writerow(["participation", "asked", "", "", len(harvest.asked)])
    writer.writerow(["participation", "answered", "", "", len(harvest.answered)])
    writer.writerow(["participation", "response_rate", "", "", harvest.rate])
    return out.getvalue()
