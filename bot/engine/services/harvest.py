"""The harvest of a meeting: everything the community produced around it, as minutes.

:func:`build_harvest` gathers what the harvest says, counted by the database (through
the brief, :mod:`.brief`), with the few answers per question the chat can show;
:func:`render_text` is the chat text. The exports (:func:`export_chunks`) are the
minutes in Markdown, CSV (UTF-8 with a BOM) or JSON, with the same content: the meeting's
date, place and attendees, its decisions and actions, then every answer, streamed from
the database a page at a time, then the themes, agenda, wall, introductions, practices
and participation. Hidden answers, practices, wall entries and agenda items are left out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import markup
from bot.engine import i18n
from bot.engine.services import actions, attendance, introductions, practices
from bot.engine.services.agenda import round_for
from bot.engine.services.brief import (
    BOM,
    NAMES,
    AnswersByQuestion,
    Brief,
    Buffer,
    Names,
    build_brief,
    shown_name,
    stream_answers,
)
from bot.engine.services.meetings import local_time
from bot.engine.services.moderation import shown_ranking, visible
from bot.engine.services.themes import Theme
from bot.engine.texts import Markup, Texts
from storage.models import Community, Meeting, Member, WallEntry


class HarvestFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JSON = "json"


MEDIA_TYPES = {
    HarvestFormat.MD: "text/markdown",
    HarvestFormat.CSV: "text/csv",
    HarvestFormat.JSON: "application/json",
}


@dataclass(frozen=True, slots=True)
class ActionRow:
    number: int
    text: str
    owner: str
    due: date
    status: str


@dataclass(slots=True)
class Harvest:
    community: str
    meeting: str
    meeting_id: int
    starts_at: datetime
    # The meeting's date and time in the community's timezone, in the harvest's language.
    when: str
    place: str | None
    video_link: str | None
    brief: Brief
    # Per question: its text and the answers shown (every answer with ``every_answer``).
    answers: list[tuple[str, list[tuple[str, str]]]]
    agenda: list[tuple[int, str, int]]
    wall_new: list[str]
    wall_refreshed: list[str]
    introductions: list[tuple[str, str, str]]
    practices: list[tuple[str, str, int]]
    asked: list[str]
    # Who answered every question; how many answered some of them.
    answered: list[str]
    partial: int = 0
    # Who said they would come (yes, maybe, no) and who came, as a facilitator marked.
    coming: list[str] = field(default_factory=list)
    maybe: list[str] = field(default_factory=list)
    not_coming: list[str] = field(default_factory=list)
    came: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    # The meeting's themes, and each question's (in the order of ``answers``).
    themes: list[Theme] = field(default_factory=list)
    question_themes: list[list[Theme]] = field(default_factory=list)

    @property
    def rate(self) -> int:
        return round(self.brief.response_rate * 100)

    @property
    def counts(self) -> list[int]:
        """How many answers each question has (shown or not)."""
        return [q.answered for q in self.brief.questions]


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


async def _every_answer(
    session: AsyncSession, texts: Texts, question_id: int, language: str
) -> list[tuple[str, str]]:
    shown = Names(texts, language)
    return [
        (shown(name, anonymous), text)
        async for rows in stream_answers(session, question_id)
        for name, anonymous, text in rows
    ]


async def build_harvest(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    language: str,
    *,
    every_answer: bool = False,
) -> Harvest:
    """The harvest, with the answers the brief quotes (or, with ``every_answer``, all
    of them held in memory: the exports stream them instead)."""
    # The harvest shows this meeting's themes, not those of the meetings before it.
    brief = await build_brief(
        session, texts, community, meeting, language, delivery=False, across_meetings=False
    )
    since, until = await _window(session, meeting)

    def named(member: Member) -> str:
        return shown_name(member, texts, language)

    async def name(member_id: int) -> str:
        member = await session.get(Member, member_id)
        return named(member) if member else "?"

    found = await round_for(session, meeting)
    # The ranking kept at close, without the items hidden or removed since.
    shown = await shown_ranking(session, found.ranking) if found is not None else []
    agenda = [(r["rank"], r["title"], r["votes"]) for r in shown]
    walls = (
        await session.execute(
            select(WallEntry.member_id, WallEntry.completed_at, WallEntry.refreshed_at).where(
                WallEntry.community_id == community.id, visible(WallEntry)
            )
        )
    ).all()
    wall_new = [await name(m) for m, done, _ in walls if done is not None and since <= done < until]
    wall_refreshed = [
        await name(m) for m, _, fresh in walls if fresh is not None and since <= fresh < until
    ]
    intros = [
        (await name(i.member_a_id), await name(i.member_b_id), i.topics)
        for i in await introductions.made_between(session, community, since, until)
    ]
    scored = await practices.scored(session, community, since=since, until=until)
    if every_answer:
        answers = [
            (q.text, await _every_answer(session, texts, q.question.id, language))
            for q in brief.questions
        ]
    else:
        answers = [(q.text, list(q.answers)) for q in brief.questions]
    coming = await attendance.who_is_coming(session, meeting.id)
    return Harvest(
        community=community.name,
        meeting=meeting.title,
        meeting_id=meeting.id,
        starts_at=meeting.starts_at,
        when=i18n.format_datetime(local_time(community, meeting.starts_at), language, year=True),
        place=meeting.place,
        video_link=meeting.video_link,
        brief=brief,
        answers=answers,
        agenda=agenda,
        wall_new=wall_new,
        wall_refreshed=wall_refreshed,
        introductions=intros,
        practices=[(s.practice.text, named(s.author), s.votes) for s in scored],
        asked=[p.name for p in brief.asked],
        answered=[p.name for p in brief.answered],
        partial=len(brief.partial),
        coming=[named(m) for m in coming.yes],
        maybe=[named(m) for m in coming.maybe],
        not_coming=[named(m) for m in coming.no],
        came=[named(m) for m in await attendance.who_came(session, meeting.id)],
        decisions=[d.text for d in await actions.meeting_decisions(session, meeting.id)],
        actions=[
            ActionRow(a.number, a.action.text, named(a.owner), a.action.due_on, a.action.status)
            for a in await actions.meeting_actions(session, meeting.id)
        ],
        themes=brief.connected.meeting if brief.connected else [],
        question_themes=[q.themes for q in brief.questions],
    )


def _due(day: date) -> datetime:
    """A due date as a moment the date filters take (the day itself is what they show)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def _common(harvest: Harvest) -> dict[str, Any]:
    """What the chat text and the minutes both show."""
    return {
        "community": harvest.community,
        "meeting": harvest.meeting,
        "meeting_id": harvest.meeting_id,
        "when": harvest.when,
        "place": harvest.place,
        "video": harvest.video_link,
        "came": harvest.came,
        "coming": harvest.coming,
        "maybe": harvest.maybe,
        "not_coming": harvest.not_coming,
        "decisions": harvest.decisions,
        "actions": [(a, _due(a.due)) for a in harvest.actions],
        "agenda": harvest.agenda,
        "wall_new": harvest.wall_new,
        "wall_refreshed": harvest.wall_refreshed,
        "introductions": harvest.introductions,
        "practices": harvest.practices,
        "asked": harvest.asked,
        "answered": harvest.answered,
        "partial": harvest.partial,
        "rate": harvest.rate,
    }


def render_text(texts: Texts, harvest: Harvest, language: str) -> str:
    """The chat text in neutral markup: a few answers per question and at most NAMES
    names per list; the exports have everything."""
    return texts.render(
        "harvest.text",
        language,
        **_common(harvest),
        answers=[
            (question, rows, max(count - len(rows), 0))
            for (question, rows), count in zip(harvest.answers, harvest.counts, strict=True)
        ],
        names=NAMES,
        themes=Markup(texts.render("themes.harvest", language, themes=harvest.themes)),
    )


def _per_question(harvest: Harvest) -> list[list[Theme]]:
    found = harvest.question_themes
    return found if len(found) == len(harvest.answers) else [[] for _ in harvest.answers]


def _head(harvest: Harvest) -> dict[str, Any]:
    """The JSON export's members before the answers."""
    return {
        "community": harvest.community,
        "meeting": {
            "id": harvest.meeting_id,
            "title": harvest.meeting,
            "starts_at": harvest.starts_at.isoformat(),
            "when": harvest.when,
            "place": harvest.place,
            "video_link": harvest.video_link,
        },
        "attendance": {
            "came": harvest.came,
            "coming": harvest.coming,
            "maybe": harvest.maybe,
            "not_coming": harvest.not_coming,
        },
        "decisions": [{"text": text} for text in harvest.decisions],
        "actions": [
            {
                "number": a.number,
                "text": a.text,
                "owner": a.owner,
                "due": a.due.isoformat(),
                "status": a.status,
            }
            for a in harvest.actions
        ],
    }


def _tail(harvest: Harvest) -> dict[str, Any]:
    """The JSON export's members after the answers."""
    return {
        "themes": [t.as_dict() for t in harvest.themes],
        "agenda": [{"rank": r, "title": t, "votes": v} for r, t, v in harvest.agenda],
        "wall": {"new": harvest.wall_new, "refreshed": harvest.wall_refreshed},
        "introductions": [{"members": [a, b], "topics": t} for a, b, t in harvest.introductions],
        "practices": [{"text": t, "member": w, "votes": v} for t, w, v in harvest.practices],
        "participation": {
            "asked": harvest.asked,
            "answered": harvest.answered,
            "partly_answered": harvest.partial,
            "response_rate": harvest.rate,
        },
    }


def as_dict(harvest: Harvest) -> dict[str, Any]:
    """The harvest as the JSON export has it, with the answers the harvest holds."""
    return {
        **_head(harvest),
        "answers": [
            {
                "question": q,
                "answers": [{"member": w, "text": t} for w, t in rows],
                "themes": [t.as_dict() for t in themes],
            }
            for (q, rows), themes in zip(harvest.answers, _per_question(harvest), strict=True)
        ],
        **_tail(harvest),
    }


# -- the exports, streamed ------------------------------------------------------------

Rows = AsyncIterator[Sequence[tuple[str, str]]]


def _answers(
    session: AsyncSession, texts: Texts, harvest: Harvest, language: str
) -> Callable[[int], Rows]:
    """Every answer to the question numbered ``n``, a page at a time: (who, text); the
    questions asked for in their order (all of them come from one query)."""
    questions = [section.question.id for section in harvest.brief.questions]
    answers = AnswersByQuestion(session, questions, texts, language)
    return lambda number: answers.of(questions[number - 1])


def _members(data: dict[str, Any]) -> str:
    """A JSON object's members, without its braces."""
    return json.dumps(data, ensure_ascii=False, indent=1)[1:-1].strip("\n")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def json_chunks(
    session: AsyncSession, texts: Texts, harvest: Harvest, language: str
) -> AsyncIterator[str]:
    """The harvest as JSON: the members of :func:`as_dict`, with every answer."""
    answers_to = _answers(session, texts, harvest, language)
    yield "{\n" + _members(_head(harvest)) + ',\n "answers": ['
    for number, ((question, _), themes) in enumerate(
        zip(harvest.answers, _per_question(harvest), strict=True), start=1
    ):
        opening = "\n  " if number == 1 else ",\n  "
        yield opening + '{"question": ' + _dump(question) + ', "answers": ['
        written = 0
        async for rows in answers_to(number):
            parts = []
            for who, text in rows:
                parts.append(",\n   " if written else "\n   ")
                parts.append('{"member": ' + _dump(who) + ', "text": ' + _dump(text) + "}")
                written += 1
            yield "".join(parts)
        closing = "\n  ]" if written else "]"
        yield closing + ', "themes": ' + _dump([t.as_dict() for t in themes]) + "}"
    yield ("\n ]" if harvest.answers else "]") + ",\n" + _members(_tail(harvest)) + "\n}\n"


def _inert(text: str) -> str:
    """:func:`bot.markup.escape`, skipped for the many texts it would leave as they are."""
    if "\\" in text or "*" in text or "\n" in text or text.lstrip()[:1] in ("#", "-", ">"):
        return markup.escape(text)
    return text


# Stand-ins for an answer's author and text, which markup escaping leaves as they are.
_WHO, _TEXT = "\x01", "\x02"


def _answer_line(texts: Texts, language: str) -> Any:
    """A function writing one answer's Markdown line: the template is rendered once, with
    stand-ins, and each answer put in its place (a hundred thousand renders would take
    seconds)."""
    template = texts.render("harvest.minutes_answer", language, who=_WHO, text=_TEXT)
    before, _, rest = template.partition(_WHO)
    middle, _, after = rest.partition(_TEXT)

    names: dict[str, str] = {}

    def line(who: str, text: str) -> str:
        # A line break inside an answer continues its list item.
        said = _inert(text).replace("\n", "\n  ")
        shown = names.get(who)
        if shown is None:
            shown = names[who] = markup.escape(who)
        return f"{before}{shown}{middle}{said}{after}\n"

    return line


def _minutes(harvest: Harvest) -> dict[str, Any]:
    return {**_common(harvest), "themes": harvest.themes, "names": None}


async def markdown_chunks(
    session: AsyncSession, texts: Texts, harvest: Harvest, language: str
) -> AsyncIterator[str]:
    """The minutes in Markdown: headings for the meeting, its date, place and attendees,
    its decisions and actions, each question with every answer, then the rest."""
    yield texts.render("harvest.minutes_head", language, **_minutes(harvest)) + "\n"
    line = _answer_line(texts, language)
    answers_to = _answers(session, texts, harvest, language)
    for number, (question, _) in enumerate(harvest.answers, start=1):
        heading = texts.render(
            "harvest.minutes_question", language, number=number, question=question
        )
        yield "\n" + heading + "\n"
        written = False
        async for rows in answers_to(number):
            yield "".join(line(who, text) for who, text in rows)
            written = written or bool(rows)
        if not written:
            yield texts.render("harvest.minutes_no_answers", language) + "\n"
    yield "\n" + texts.render("harvest.minutes_tail", language, **_minutes(harvest)) + "\n"


async def csv_chunks(
    session: AsyncSession, texts: Texts, harvest: Harvest, language: str
) -> AsyncIterator[str]:
    """One row per fact (section, item, member, text, figure), in UTF-8 with a BOM so
    that spreadsheets open it right."""
    buffer = Buffer()
    writer = buffer.writer
    writer.writerow(["section", "item", "member", "text", "figure"])
    writer.writerow(["meeting", harvest.meeting_id, "", harvest.meeting, harvest.when])
    if harvest.place:
        writer.writerow(["meeting", "place", "", harvest.place, ""])
    if harvest.video_link:
        writer.writerow(["meeting", "video_link", "", harvest.video_link, ""])
    for item, names in (
        ("came", harvest.came),
        ("coming", harvest.coming),
        ("maybe", harvest.maybe),
        ("not_coming", harvest.not_coming),
    ):
        writer.writerows(["attendance", item, who, "", ""] for who in names)
    writer.writerows(["decision", "", "", text, ""] for text in harvest.decisions)
    writer.writerows(
        ["action", a.number, a.owner, a.text, f"{a.status} {a.due.isoformat()}"]
        for a in harvest.actions
    )
    yield BOM + buffer.take()
    answers_to = _answers(session, texts, harvest, language)
    for number, (question, _) in enumerate(harvest.answers, start=1):
        async for rows in answers_to(number):
            writer.writerows(["answer", question, who, text, ""] for who, text in rows)
            yield buffer.take()
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
    writer.writerow(["participation", "partly_answered", "", "", harvest.partial])
    writer.writerow(["participation", "response_rate", "", "", harvest.rate])
    yield buffer.take()


async def export_chunks(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    fmt: HarvestFormat,
    language: str | None = None,
) -> AsyncIterator[str]:
    """The harvest export as text, a page at a time (in the community's language)."""
    language = language or community.language
    harvest = await build_harvest(session, texts, community, meeting, language)
    chunks = {
        HarvestFormat.MD: markdown_chunks,
        HarvestFormat.CSV: csv_chunks,
        HarvestFormat.JSON: json_chunks,
    }[fmt]
    async for chunk in chunks(session, texts, harvest, language):
        yield chunk


async def render_export(
    session: AsyncSession, texts: Texts, harvest: Harvest, fmt: HarvestFormat, language: str
) -> str:
    """A whole export as one text (for a small harvest, or a test)."""
    chunks = {
        HarvestFormat.MD: markdown_chunks,
        HarvestFormat.CSV: csv_chunks,
        HarvestFormat.JSON: json_chunks,
    }[fmt]
    return "".join([c async for c in chunks(session, texts, harvest, language)])
