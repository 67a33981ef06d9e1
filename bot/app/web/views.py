"""What each page of the meeting pack shows, gathered from the database.

Every name goes through :func:`~bot.engine.services.brief.shown_name`, so a member who
chose ``/anonymous on`` is "A member" here as in the chat. The pages and the poster
render these views; nothing here knows HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import agenda, harvest, moderation, practices, text_model, themes, wall
from bot.engine.services.brief import shown_name
from bot.engine.services.meetings import local_time
from bot.engine.texts import Texts
from storage.models import AgendaVote, Community, Introduction, Meeting, Member, Prompt, Reply
from storage.statuses import PromptStatus, RoundStatus


@dataclass(frozen=True, slots=True)
class MeetingHead:
    id: int
    title: str
    kind: str
    community: str
    language: str
    starts_at: datetime  # in the community's timezone
    timezone: str
    upcoming: bool


@dataclass(frozen=True, slots=True)
class Proposal:
    number: int
    title: str
    detail: str | None
    proposer: str
    votes: int
    voters: int


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int
    title: str
    votes: int
    tie: bool = False


@dataclass(frozen=True, slots=True)
class AgendaView:
    meeting: MeetingHead
    phase: str | None  # None: no agenda round for this meeting
    voting: str
    proposals: list[Proposal]
    ranked: list[Ranked]
    final: bool  # the ranking is the closed outcome, not the standing so far
    voters: int
    # False while the community hides the votes until voting closes (only how many voted).
    counts: bool = True


@dataclass(frozen=True, slots=True)
class Quote:
    who: str
    text: str


@dataclass(frozen=True, slots=True)
class QuestionView:
    number: int
    text: str
    answers: list[Quote]


@dataclass(frozen=True, slots=True)
class Theme:
    label: str
    quotes: list[Quote]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A decision or an action recorded for the meeting, with what else is known of it."""

    text: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PracticeView:
    text: str
    who: str
    votes: int


@dataclass(frozen=True, slots=True)
class HarvestView:
    meeting: MeetingHead
    questions: list[QuestionView]
    themes: list[Theme]
    decisions: list[FollowUp]
    actions: list[FollowUp]
    ranked: list[Ranked]
    practices: list[PracticeView]
    asked: int
    answered: int
    rate: int
    wall_new: list[str]
    wall_refreshed: list[str]
    introductions: list[tuple[str, str, str]]

    @property
    def quotes(self) -> int:
        return sum(len(q.answers) for q in self.questions)


@dataclass(frozen=True, slots=True)
class WallRow:
    who: str
    passions: str | None
    contributes: str | None
    needs: str | None


@dataclass(frozen=True, slots=True)
class WallView:
    community: str
    language: str
    rows: list[WallRow]
    topics: list[tuple[str, list[tuple[str, str]]]]
    introductions: list[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class Card:
    meeting: MeetingHead
    asked: int
    answered: int
    rate: int
    top: list[Ranked]
    practices: int
    harvest_url: str = ""
    poster_url: str = ""


@dataclass(frozen=True, slots=True)
class JourneyView:
    community: str
    language: str
    cards: list[Card]


def head(community: Community, meeting: Meeting, now: datetime) -> MeetingHead:
    return MeetingHead(
        id=meeting.id,
        title=meeting.title,
        kind=meeting.kind,
        community=community.name,
        language=community.language,
        starts_at=local_time(community, meeting.starts_at),
        timezone=community.timezone,
        upcoming=meeting.starts_at > now,
    )


async def meeting_of(session: AsyncSession, meeting_id: int) -> tuple[Community, Meeting] | None:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    community = await session.get(Community, meeting.community_id)
    return (community, meeting) if community is not None else None


def _ranked(raw: list[Any]) -> list[Ranked]:
    counts: dict[int, int] = {}
    for row in raw:
        counts[int(row["votes"])] = counts.get(int(row["votes"]), 0) + 1
    return [
        Ranked(int(r["rank"]), str(r["title"]), int(r["votes"]), counts[int(r["votes"])] > 1)
        for r in raw
    ]


async def agenda_view(
    session: AsyncSession, texts: Texts, community: Community, meeting: Meeting, now: datetime
) -> AgendaView:
    language = community.language
    voting = CommunitySettings.of(community.settings).agenda_voting
    found = await agenda.round_for(session, meeting)
    if found is None:
        return AgendaView(head(community, meeting, now), None, voting, [], [], False, 0)
    rows = await agenda.standings(session, found)
    counts = agenda.counts_shown(found, CommunitySettings.of(community.settings))
    proposals = [
        Proposal(
            s.number,
            s.item.title,
            s.item.detail,
            shown_name(s.proposer, texts, language),
            s.votes,
            s.voters,
        )
        for s in rows
    ]
    final = found.status == RoundStatus.CLOSED and bool(found.ranking)
    if final:
        ranked = _ranked(await moderation.shown_ranking(session, found.ranking))
    else:
        tied = agenda.ties(rows)
        ranked = [
            Ranked(rank, s.item.title, s.votes, s.item.id in tied)
            for rank, s in enumerate(agenda.ranked(rows), start=1)
        ]
    voters = await session.scalar(
        select(func.count(func.distinct(AgendaVote.member_id))).where(
            AgendaVote.item_id.in_([s.item.id for s in rows] or [0]), AgendaVote.dots > 0
        )
    )
    return AgendaView(
        head(community, meeting, now),
        found.status,
        voting,
        proposals,
        ranked if counts else [],
        final,
        int(voters or 0),
        counts,
    )


def _themes(exported: dict[str, Any], harvested: harvest.Harvest, language: str) -> list[Theme]:
    """The meeting's themes: those the harvest carries (the themes service's export shape,
    ``{"label", "terms", "answers": [{"member", "text", "question"}]}``, as a list or
    under ``"meeting"``), else found here in the harvest's answers by the same service.
    Names are the harvest's, so anonymous members stay "A member"."""
    raw: Any = exported.get("themes")
    if isinstance(raw, dict):
        raw = raw.get("meeting")
    if not isinstance(raw, list):
        answers = [
            themes.Answer(who, text, number)
            for number, (_, rows) in enumerate(harvested.answers, start=1)
            for who, text in rows
        ]
        raw = [t.as_dict() for t in themes.find_themes(text_model.default(), answers, language)]
    found = []
    for theme in raw:
        if not isinstance(theme, dict):
            continue
        label = theme.get("label") or " · ".join(map(str, theme.get("terms") or []))
        quotes = [
            Quote(str(a.get("member", "")), str(a.get("text", "")))
            for a in theme.get("answers") or []
            if isinstance(a, dict)
        ]
        found.append(Theme(str(label), quotes))
    return found


def _follow_ups(exported: dict[str, Any], name: str) -> list[FollowUp]:
    """Decisions or actions, when the harvest carries them: each a text or an object
    whose ``text`` (or ``title``) is shown with its other plain fields (owner, due date,
    status)."""
    raw = exported.get(name)
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if isinstance(item, str):
            found.append(FollowUp(item))
        elif isinstance(item, dict):
            text = item.get("text") or item.get("title") or ""
            details = [
                f"{key}: {value}"
                for key, value in item.items()
                if key not in ("text", "title", "id") and isinstance(value, str | int) and value
            ]
            found.append(FollowUp(str(text), details))
    return found


async def harvest_view(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    now: datetime,
    *,
    with_themes: bool = True,
) -> HarvestView:
    language = community.language
    found = await harvest.build_harvest(
        session, texts, community, meeting, language, every_answer=True
    )
    exported = harvest.as_dict(found)
    round_ = await agenda.round_for(session, meeting)
    ranked = (
        _ranked(await moderation.shown_ranking(session, round_.ranking))
        if round_ is not None and round_.ranking
        else [Ranked(r, t, v) for r, t, v in found.agenda]
    )
    return HarvestView(
        meeting=head(community, meeting, now),
        questions=[
            QuestionView(number, text, [Quote(who, said) for who, said in rows])
            for number, (text, rows) in enumerate(found.answers, start=1)
        ],
        themes=_themes(exported, found, language) if with_themes else [],
        decisions=_follow_ups(exported, "decisions"),
        actions=_follow_ups(exported, "actions"),
        ranked=ranked,
        practices=[PracticeView(t, w, v) for t, w, v in found.practices],
        asked=len(found.asked),
        answered=len(found.answered),
        rate=found.rate,
        wall_new=found.wall_new,
        wall_refreshed=found.wall_refreshed,
        introductions=found.introductions,
    )


async def wall_view(session: AsyncSession, texts: Texts, community: Community) -> WallView:
    language = community.language

    async def name(member_id: int) -> str:
        member = await session.get(Member, member_id)
        return shown_name(member, texts, language) if member else "?"

    rows = [
        WallRow(await name(e.member_id), e.passions, e.contributes, e.needs)
        for e in await wall.entries(session, community)
    ]
    shared, _ = await wall.topics(session, community)
    topics = [(t.word, [(shown_name(m, texts, language), f) for m, f in t.holders]) for t in shared]
    made = (
        await session.scalars(
            select(Introduction)
            .where(Introduction.community_id == community.id, Introduction.made_at.is_not(None))
            .order_by(Introduction.made_at.desc())
        )
    ).all()
    introductions = [(await name(i.member_a_id), await name(i.member_b_id), i.topics) for i in made]
    return WallView(community.name, language, rows, topics, introductions)


async def journey_view(
    session: AsyncSession, texts: Texts, community: Community, now: datetime
) -> JourneyView:
    meetings = (
        await session.scalars(
            select(Meeting)
            .where(Meeting.community_id == community.id, Meeting.cancelled_at.is_(None))
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        )
    ).all()
    cards = []
    for meeting in meetings:
        # Counted here rather than through a whole harvest per meeting: a journey of
        # twelve meetings stays one quick page.
        prompts = (
            await session.execute(
                select(Prompt.member_id, Prompt.status, Prompt.asked_at, Reply.id)
                .outerjoin(Reply, Reply.prompt_id == Prompt.id)
                .where(Prompt.meeting_id == meeting.id)
            )
        ).all()
        asked = {m for m, status, at, _ in prompts if status != PromptStatus.QUEUED or at}
        answered = {m for m, _, _, reply in prompts if reply is not None}
        round_ = await agenda.round_for(session, meeting)
        taken = await practices.scored(session, community, meeting=meeting)
        cards.append(
            Card(
                head(community, meeting, now),
                len(asked),
                len(answered),
                round(100 * len(answered) / len(asked)) if asked else 0,
                _ranked(await moderation.shown_ranking(session, round_.ranking))[:3]
                if round_ is not None and round_.ranking
                else [],
                len(taken),
            )
        )
    return JourneyView(community.name, community.language, cards)


# Characters of answers on one page, so a harvest page stays light on a phone whatever
# the community wrote; the rest is a link away, one question at a time.
ANSWERS_PER_PAGE = 40_000


@dataclass(frozen=True, slots=True)
class AnswerPage:
    """The answers a harvest page shows: all questions cut to share the budget, or one
    question's answers, one page of them."""

    questions: list[QuestionView]
    more: dict[int, int]  # question number -> all its answers, where some are left out
    question: int | None = None
    page: int = 1
    pages: int = 1


def _fill(answers: list[Quote], budget: int) -> list[list[Quote]]:
    pages: list[list[Quote]] = [[]]
    used = 0
    for quote in answers:
        if pages[-1] and used + len(quote.text) > budget:
            pages.append([])
            used = 0
        pages[-1].append(quote)
        used += len(quote.text)
    return pages


def answer_page(view: HarvestView, question: int | None = None, page: int = 1) -> AnswerPage:
    if question is None:
        budget = ANSWERS_PER_PAGE // max(len(view.questions), 1)
        shown, more = [], {}
        for q in view.questions:
            first = _fill(q.answers, budget)[0]
            shown.append(QuestionView(q.number, q.text, first))
            if len(first) < len(q.answers):
                more[q.number] = len(q.answers)
        return AnswerPage(shown, more)
    found = next((q for q in view.questions if q.number == question), None)
    if found is None:
        return AnswerPage([], {}, question, 1, 1)
    pages = _fill(found.answers, ANSWERS_PER_PAGE)
    page = min(max(page, 1), len(pages))
    return AnswerPage(
        [QuestionView(found.number, found.text, pages[page - 1])], {}, question, page, len(pages)
    )
