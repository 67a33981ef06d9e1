"""The facilitator's brief: who answered what before the meeting.

The brief reads the same for five members or ten thousand. Its figures (each member's
completion, each question's answers and who has not answered yet, who received and
read the questions) are counted by the database in a few GROUP BY queries; each
question shows its themes and the few answers a facilitator can read (:data:`QUOTES`),
and lists name at most :data:`NAMES` members. Whatever is left out is in the brief's
file (:func:`write_csv`), streamed from the database a page at a time, never held
whole.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.services import actions, dots, theme_texts
from bot.engine.services.links import Links
from bot.engine.services.meetings import local_time
from bot.engine.services.moderation import visible
from bot.engine.services.questions import question_set, question_text
from bot.engine.services.themes import MIN_ANSWERS, Answer, Theme, load_library
from bot.engine.texts import Markup, Texts
from bot.messages import Attachment
from storage.models import (
    Attendance,
    Community,
    Identity,
    Meeting,
    MeetingQuestion,
    Member,
    OutboxMessage,
    Prompt,
    Reply,
)
from storage.statuses import AttendanceIntent, OutboxStatus, PromptStatus

# Answers quoted in the brief, shared by its questions (at least MIN_QUOTES each, at most
# QUOTES), and the characters of each quote; the rest is in the file.
QUOTE_BUDGET = 30
QUOTES = 10
MIN_QUOTES = 2
QUOTE_CHARS = 300
# Quotes from each theme of a question too large to quote whole.
THEME_QUOTES = 2
# Names listed in one line of the brief; a longer list is counted, its names in the file.
NAMES = 25
# Answers the themes are found in, shared by the questions (at most THEME_SAMPLE each):
# past that, a sample of each question's answers.
THEME_BUDGET = 1000
THEME_SAMPLE = 300
# Open actions listed in the brief.
SHOWN_ACTIONS = 10
# Rows fetched per round trip when answers are streamed.
PAGE = 2000
# The largest brief file sent inside its message when no web server serves it (bytes).
DATA_LIMIT = 5 * 1024 * 1024
CSV_TYPE = "text/csv"
WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)
# Spreadsheets read a CSV file as UTF-8 when it starts with this mark.
BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Person:
    """A member as the brief names them (anonymous members are "A member")."""

    id: int
    name: str


def shown_name(member: Member, texts: Texts, language: str) -> str:
    """Members who asked not to be named appear anonymised."""
    return name_of(member.display_name, member.anonymous, texts, language)


def name_of(display_name: str, anonymous: bool, texts: Texts, language: str) -> str:
    if anonymous:
        return texts.render("common.anonymous", language)
    return display_name


def answered_clause() -> ColumnElement[bool]:
    """A prompt counts as answered with a visible reply, or when its reply was pruned by
    retention or erased with its member (the prompt stays answered); a hidden reply
    does not count."""
    return or_(
        and_(Reply.id.is_not(None), visible(Reply)),
        and_(Reply.id.is_(None), Prompt.status == PromptStatus.ANSWERED),
    )


def asked_clause() -> ColumnElement[bool]:
    return or_(Prompt.status != PromptStatus.QUEUED, Prompt.asked_at.is_not(None))


def _live_prompts(meeting_id: int) -> Any:
    """The meeting's prompts of live questions, with their replies (outer-joined)."""
    return (
        select()
        .select_from(Prompt)
        .join(
            MeetingQuestion,
            and_(MeetingQuestion.id == Prompt.question_id, MeetingQuestion.removed_at.is_(None)),
        )
        .outerjoin(Reply, Reply.prompt_id == Prompt.id)
        .where(Prompt.meeting_id == meeting_id, Prompt.status != PromptStatus.WITHDRAWN)
    )


@dataclass(slots=True)
class QuestionAnswers:
    question: MeetingQuestion
    number: int
    text: str
    # How many members answered it, and how many of those asked have not (yet).
    answered: int = 0
    missing_count: int = 0
    # Who has not answered, when there are no more than NAMES of them.
    missing: list[Person] = field(default_factory=list)
    # The answers the themes are found in: all of them, or a sample past THEME_SAMPLE.
    sample: list[Answer] = field(default_factory=list)
    # The answers quoted in the brief (each cut to QUOTE_CHARS), and the themes, each
    # with the quotes it shows and its share of the sample in percent.
    quotes: list[Answer] = field(default_factory=list)
    themes: list[Theme] = field(default_factory=list)
    shares: list[int] = field(default_factory=list)
    # Whether a quote was cut to QUOTE_CHARS.
    trimmed: bool = False

    @property
    def sampled(self) -> bool:
        return len(self.sample) < self.answered

    @property
    def more(self) -> int:
        """Answers not quoted in the brief (they are in the file)."""
        return max(self.answered - len(self.quotes), 0)

    @property
    def answers(self) -> list[tuple[str, str]]:
        return [(a.member, a.text) for a in self.quotes]

    @property
    def themed(self) -> list[tuple[Theme, int]]:
        return list(zip(self.themes, self.shares, strict=True))

    @property
    def unthemed(self) -> list[tuple[str, str]]:
        placed = {id(a) for theme in self.themes for a in theme.answers}
        return [(a.member, a.text) for a in self.quotes if id(a) not in placed]


@dataclass(slots=True)
class Brief:
    meeting: Meeting
    # How many questions the meeting has.
    total: int
    questions: list[QuestionAnswers]
    # Every member asked, with how many questions they answered, by name.
    completion: list[tuple[Person, int]]
    unreachable: list[Person] = field(default_factory=list)
    received: list[Person] = field(default_factory=list)
    read: list[Person] = field(default_factory=list)
    # Who said they will come (yes, maybe, no), by name.
    coming: list[Person] = field(default_factory=list)
    maybe: list[Person] = field(default_factory=list)
    not_coming: list[Person] = field(default_factory=list)
    # The community's open actions (the first SHOWN_ACTIONS: number, text, owner, due)
    # and how many there are.
    open_actions: list[tuple[int, str, str, datetime]] = field(default_factory=list)
    open_count: int = 0
    # Themes, recurring themes, agenda proposals and quiet voices (see services.dots).
    connected: dots.Dots | None = None
    # Each member asked, with the bits of the questions they answered (question k is
    # bit k), for the file's list of who has not answered what.
    masks: list[tuple[Person, int]] = field(default_factory=list)

    @property
    def asked(self) -> list[Person]:
        return [p for p, _ in self.completion]

    @property
    def answered(self) -> list[Person]:
        """The members who answered every question."""
        return [p for p, n in self.completion if n >= self.total]

    @property
    def partial(self) -> list[tuple[Person, int]]:
        return [(p, n) for p, n in self.completion if 0 < n < self.total]

    @property
    def not_answered(self) -> list[Person]:
        """The members who answered nothing yet."""
        return [p for p, n in self.completion if n == 0]

    @property
    def response_rate(self) -> float:
        """The share of members asked who answered every question."""
        return len(self.answered) / len(self.completion) if self.completion else 0.0

    @property
    def tally(self) -> list[tuple[int, int]]:
        """(questions answered, how many members), from all questions down to none."""
        counted = Counter(min(n, self.total) for _, n in self.completion)
        return [(n, counted[n]) for n in range(self.total, -1, -1) if counted[n]]

    @property
    def cut(self) -> bool:
        """Whether the brief leaves out answers or names that its file holds."""
        return (
            any(q.more or len(q.missing) < q.missing_count or q.trimmed for q in self.questions)
            or len(self.completion) > NAMES
            or any(
                len(found) > NAMES
                for found in (
                    self.unreachable,
                    self.received,
                    self.read,
                    self.coming,
                    self.maybe,
                    self.not_coming,
                )
            )
        )


@dataclass(slots=True)
class _Counted:
    # Every member asked, with how many questions they answered, by name.
    completion: list[tuple[Person, int]]
    # Per question id: how many answered, and who of those asked has not (the
    # names when there are no more than NAMES of them, else only the count).
    answered: dict[int, int]
    missing: dict[int, tuple[int, list[Person]]]
    # Each member asked, with the bits of the questions they answered.
    masks: list[tuple[Person, int]] = field(default_factory=list)


async def _count(
    session: AsyncSession,
    texts: Texts,
    meeting: Meeting,
    questions: Sequence[MeetingQuestion],
    language: str,
) -> _Counted:
    """Each member's answers in one GROUP BY query: which questions they answered, as the
    bits of one number (question k is bit k), from which the figures per member and per
    question follow without another pass over the prompts."""
    ids = [q.id for q in questions]
    shown = Names(texts, language)
    if not ids:
        return _Counted([], {}, {})
    bit = case(
        {q: literal(1 << k, BigInteger) for k, q in enumerate(ids)},
        value=Prompt.question_id,
        else_=literal(0, BigInteger),
    )
    per_member = (
        select(
            Prompt.member_id.label("member_id"),
            func.sum(case((answered_clause(), bit), else_=0)).label("bits"),
        )
        .select_from(Prompt)
        .outerjoin(Reply, Reply.prompt_id == Prompt.id)
        .where(
            Prompt.meeting_id == meeting.id,
            Prompt.question_id.in_(ids),
            Prompt.status != PromptStatus.WITHDRAWN,
        )
        .group_by(Prompt.member_id)
        .having(func.max(case((asked_clause(), 1), else_=0)) == 1)
        .subquery()
    )
    rows = await session.execute(
        select(
            per_member.c.member_id, Member.display_name, Member.anonymous, per_member.c.bits
        ).join(Member, Member.id == per_member.c.member_id)
    )
    completion, masks = [], []
    for member_id, name, anonymous, bits in rows:
        person = Person(member_id, shown(name, anonymous))
        mask = int(bits or 0)
        completion.append((person, mask.bit_count()))
        masks.append((person, mask))
    completion.sort(key=lambda row: (row[0].name.casefold(), row[0].id))
    answered: dict[int, int] = {}
    missing: dict[int, tuple[int, list[Person]]] = {}
    for k, question_id in enumerate(ids):
        flag = 1 << k
        count = sum(1 for _, mask in masks if mask & flag)
        answered[question_id] = count
        absent = len(masks) - count
        names: list[Person] = []
        if 0 < absent <= NAMES:
            names = sorted(
                (p for p, mask in masks if not mask & flag),
                key=lambda p: (p.name.casefold(), p.id),
            )
        missing[question_id] = (absent, names)
    masks.sort(key=lambda row: (row[0].name.casefold(), row[0].id))
    return _Counted(completion, answered, missing, masks)


async def participation(session: AsyncSession, meeting: Meeting, total: int) -> tuple[int, int]:
    """How many members were asked the meeting's ``total`` questions, and how many
    answered every one: counted by the database, one row out."""
    answered = func.sum(case((answered_clause(), 1), else_=0)).label("answered")
    per_member = (
        _live_prompts(meeting.id)
        .add_columns(Prompt.member_id, answered)
        .group_by(Prompt.member_id)
        .having(func.max(case((asked_clause(), 1), else_=0)) == 1)
        .subquery()
    )
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((per_member.c.answered >= total, 1), else_=0)), 0),
            ).select_from(per_member)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def _answers_query(question_id: int) -> Any:
    return (
        select(
            Member.display_name, Member.anonymous, Reply.text, Reply.member_id, Reply.received_at
        )
        .select_from(Reply)
        .join(Prompt, Prompt.id == Reply.prompt_id)
        .join(Member, Member.id == Reply.member_id)
        .where(Prompt.question_id == question_id, visible(Reply))
    )


async def _sample(
    session: AsyncSession,
    texts: Texts,
    meeting: Meeting,
    question: MeetingQuestion,
    number: int,
    answered: int,
    size: int,
    language: str,
) -> list[Answer]:
    """The question's answers, or past ``size`` a sample spread over the members (every
    k-th member id, the same members for every question), oldest first."""
    query = _answers_query(question.id).order_by(Reply.received_at, Reply.id)
    if answered > size:
        step = -(-answered // size)
        spread = query.where(Reply.member_id % step == 0).limit(size)
        found = (await session.execute(spread)).all()
        # Member ids that share one remainder (a pattern in who answered) give too few.
        rows = found if len(found) * 2 >= size else (await session.execute(query.limit(size)))
    else:
        rows = await session.execute(query)
    return [
        Answer(name_of(name, anonymous, texts, language), text, number, member_id, meeting.id, at)
        for name, anonymous, text, member_id, at in rows
    ]


def _cut(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def _quote(section: QuestionAnswers, themes: list[Theme], quotes: int) -> None:
    """What the brief shows of a question: every answer and theme when there are no
    more than ``quotes``, else a few answers of each theme, then of the rest."""
    sample = section.sample
    if not section.sampled and len(sample) <= quotes:
        section.quotes = list(sample)
        section.themes = themes
        section.shares = [round(100 * t.size / len(sample)) for t in themes]
        return
    cuts: dict[int, Answer] = {}

    def cut(answer: Answer) -> Answer:
        found = cuts.get(id(answer))
        if found is None:
            found = cuts[id(answer)] = replace(answer, text=_cut(answer.text))
            section.trimmed = section.trimmed or found.text != answer.text
        return found

    shown: list[Theme] = []
    left = quotes
    for theme in themes:
        if left <= 0:
            break
        quoted = [cut(a) for a in theme.answers[: min(THEME_QUOTES, left)]]
        left -= len(quoted)
        shown.append(replace(theme, answers=quoted))
    placed = {id(a) for t in themes for a in t.answers}
    others = [cut(a) for a in sample if id(a) not in placed][: max(left, 0)]
    section.themes = shown
    section.shares = [round(100 * t.size / len(sample)) for t in themes[: len(shown)]]
    section.quotes = [a for t in shown for a in t.answers] + others


async def _delivery(
    session: AsyncSession,
    texts: Texts,
    meeting: Meeting,
    people: dict[int, Person],
    language: str,
) -> tuple[list[Person], list[Person], list[Person]]:
    """Who received and who read the questions (as the platforms reported), and who could
    not be reached, counted over the outbox rows that carried them in one query, with
    the rules of :func:`.reachability.question_reach`: the best of a member's questions
    counts, an expired one was never received, and a member none of whose questions got
    through (or was queued) while every account is unreachable could not be reached."""
    key = literal("prompt:") + cast(Prompt.id, String)
    live = OutboxMessage.status != OutboxStatus.EXPIRED

    def any_of(clause: ColumnElement[bool]) -> Any:
        return func.max(case((and_(live, clause), 1), else_=0))

    rows = await session.execute(
        select(
            OutboxMessage.member_id,
            any_of(OutboxMessage.read_at.is_not(None)),
            any_of(OutboxMessage.delivered_at.is_not(None)),
            any_of(OutboxMessage.status == OutboxStatus.SENT),
            any_of(OutboxMessage.status.in_(WAITING)),
        )
        .select_from(Prompt)
        .join(OutboxMessage, OutboxMessage.idempotency_key == key)
        .where(Prompt.meeting_id == meeting.id, OutboxMessage.member_id == Prompt.member_id)
        .group_by(OutboxMessage.member_id)
    )
    received, read, waiting = [], [], set()
    # Asked members with no question on its way at all could not be reached.
    unreachable = set(people)
    for member_id, seen, delivered, sent, queued in rows:
        person = people.get(member_id)
        if person is None:
            continue
        if seen or delivered:
            received.append(person)
        if seen:
            read.append(person)
        if seen or delivered or sent or queued:
            unreachable.discard(member_id)
        if queued and not (seen or delivered or sent):
            waiting.add(member_id)
    # Members whose every account is unreachable, asked or not.
    cut_off = await session.execute(
        select(Identity.member_id, Member.display_name, Member.anonymous)
        .join(Member, Member.id == Identity.member_id)
        .where(Identity.community_id == meeting.community_id, Member.opted_out.is_(False))
        .group_by(Identity.member_id, Member.display_name, Member.anonymous)
        .having(func.count() == func.count(Identity.unreachable_at))
    )
    extra: list[Person] = []
    for member_id, name, anonymous in cut_off:
        if member_id in waiting:
            unreachable.add(member_id)
        elif member_id not in people:
            extra.append(Person(member_id, name_of(name, anonymous, texts, language)))
    lost = [people[i] for i in unreachable] + extra

    def by_name(found: list[Person]) -> list[Person]:
        return sorted(found, key=lambda p: (p.name.casefold(), p.id))

    return by_name(received), by_name(read), by_name(lost)


async def _attendance(
    session: AsyncSession, texts: Texts, meeting: Meeting, language: str
) -> dict[str, list[Person]]:
    """Who said yes, maybe or no to coming, by name."""
    shown = Names(texts, language)
    rows = await session.execute(
        select(Attendance.intent, Member.id, Member.display_name, Member.anonymous)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting.id, Attendance.intent.is_not(None))
    )
    found: dict[str, list[Person]] = {intent: [] for intent in AttendanceIntent}
    for intent, member_id, name, anonymous in rows:
        found.setdefault(str(intent), []).append(Person(member_id, shown(name, anonymous)))
    for people in found.values():
        people.sort(key=lambda p: (p.name.casefold(), p.id))
    return found


def noon(day: date) -> datetime:
    """A day as a moment the date filters take (the day itself is what they show)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


async def build_brief(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    language: str,
    *,
    themes: bool = True,
    delivery: bool = True,
    across_meetings: bool = True,
) -> Brief:
    """The brief; with ``themes``, also what connects the answers (:mod:`.dots`: without
    ``across_meetings``, only this meeting's themes); with ``delivery``, who received,
    read or could not be reached."""
    questions = await question_set(session, texts, meeting)
    counted = await _count(session, texts, meeting, questions, language)
    sections = []
    for number, question in enumerate(questions, start=1):
        absent, names = counted.missing.get(question.id, (0, []))
        sections.append(
            QuestionAnswers(
                question,
                number,
                question_text(texts, question, language),
                answered=counted.answered.get(question.id, 0),
                missing_count=absent,
                missing=names,
            )
        )
    size = min(THEME_SAMPLE, THEME_BUDGET // max(len(sections), 1))
    # Enough answers for themes: their library is imported in a thread while the
    # database gives the samples and the rest, instead of after.
    loading = None
    if themes and sum(counted.answered.values()) >= MIN_ANSWERS:
        loading = asyncio.create_task(asyncio.to_thread(load_library))
    try:
        return await _finish(
            session,
            texts,
            community,
            meeting,
            language,
            questions,
            counted,
            sections,
            size,
            themes=themes,
            delivery=delivery,
            across_meetings=across_meetings,
        )
    finally:
        if loading is not None:
            await loading


async def _finish(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    language: str,
    questions: Sequence[MeetingQuestion],
    counted: _Counted,
    sections: list[QuestionAnswers],
    size: int,
    *,
    themes: bool,
    delivery: bool,
    across_meetings: bool,
) -> Brief:
    """The brief from its counts: the samples, delivery, attendance, actions, themes."""
    people = {p.id: p for p, _ in counted.completion}
    for section in sections:
        section.sample = await _sample(
            session,
            texts,
            meeting,
            section.question,
            section.number,
            section.answered,
            size,
            language,
        )
    received: list[Person] = []
    read: list[Person] = []
    unreachable: list[Person] = []
    if delivery:
        received, read, unreachable = await _delivery(session, texts, meeting, people, language)
    intents = await _attendance(session, texts, meeting, language)
    still_open = await actions.open_actions(session, community.id)
    brief = Brief(
        meeting=meeting,
        total=len(questions),
        questions=sections,
        completion=counted.completion,
        masks=counted.masks,
        coming=intents[AttendanceIntent.YES],
        maybe=intents[AttendanceIntent.MAYBE],
        not_coming=intents[AttendanceIntent.NO],
        open_actions=[
            (a.number, a.action.text, shown_name(a.owner, texts, language), noon(a.action.due_on))
            for a in still_open[:SHOWN_ACTIONS]
        ],
        open_count=len(still_open),
        received=received,
        read=read,
        unreachable=unreachable,
    )
    per_question: list[list[Theme]] = [[] for _ in sections]
    if themes:
        brief.connected = await dots.connect(
            session,
            community,
            meeting,
            [s.sample for s in sections],
            lambda member: shown_name(member, texts, language),
            language,
            split=any(s.sampled for s in sections),
            across_meetings=across_meetings,
        )
        per_question = brief.connected.questions
    quotes = max(MIN_QUOTES, min(QUOTES, QUOTE_BUDGET // max(len(sections), 1)))
    for section, grouped in zip(sections, per_question, strict=True):
        _quote(section, grouped, quotes)
    return brief


def file_name(meeting: Meeting) -> str:
    return f"brief-{meeting.id}.csv"


def render_brief(
    texts: Texts,
    community: Community,
    brief: Brief,
    language: str,
    *,
    file: str = "",
) -> str:
    """The brief's text; ``file`` says where the rest is (a file name or a link), when
    the brief leaves something out."""
    return texts.render(
        "brief.text",
        language,
        community=community.name,
        meeting=brief.meeting.title,
        meeting_id=brief.meeting.id,
        when=i18n.format_datetime(
            local_time(community, brief.meeting.starts_at), language, year=True
        ),
        sections=brief.questions,
        total=brief.total,
        asked=len(brief.completion),
        answered=len(brief.answered),
        partial=len(brief.partial),
        rate=round(brief.response_rate * 100),
        names=NAMES,
        completion=[(p.name, n) for p, n in brief.completion],
        tally=brief.tally,
        not_answered=[p.name for p in brief.not_answered],
        unreachable=[p.name for p in brief.unreachable],
        received=[p.name for p in brief.received],
        read=[p.name for p in brief.read],
        coming=[p.name for p in brief.coming],
        maybe=[p.name for p in brief.maybe],
        not_coming=[p.name for p in brief.not_coming],
        open_actions=brief.open_actions,
        open_count=brief.open_count,
        file=Markup(file) if brief.cut else "",
        overview=theme_texts.overview(
            texts, brief.connected.meeting if brief.connected else [], language
        ),
        connections=theme_texts.connections(texts, community, brief.connected, language),
    )


async def brief_text(
    session: AsyncSession, texts: Texts, community: Community, meeting: Meeting, language: str
) -> str:
    brief = await build_brief(session, texts, community, meeting, language)
    return render_brief(texts, community, brief, language)


# -- the brief's file ---------------------------------------------------------------


async def stream_answers(
    session: AsyncSession, question_id: int
) -> AsyncIterator[Sequence[tuple[str, bool, str]]]:
    """One question's visible answers, oldest first, a page at a time:
    (display name, anonymous, text)."""
    # On the session's connection: Core rows, without the ORM's work per row.
    connection = await session.connection()
    result = await connection.stream(
        select(Member.display_name, Member.anonymous, Reply.text)
        .select_from(Reply)
        .join(Prompt, Prompt.id == Reply.prompt_id)
        .join(Member, Member.id == Reply.member_id)
        .where(Prompt.question_id == question_id, visible(Reply))
        .order_by(Reply.received_at, Reply.id)
        .execution_options(yield_per=PAGE)
    )
    async for rows in result.partitions():
        yield rows


class AnswersByQuestion:
    """Every visible answer to some questions from one query, ordered by question (in
    the order given), then as received; handed out a question at a time, in that order.

    One query where a query per question would each scan the replies: at 100,000
    answers to 11 questions, PostgreSQL spends about 0.12 s on it instead of 0.36 s.
    Ask for the questions in the order given (a question skipped is passed over)."""

    def __init__(
        self, session: AsyncSession, question_ids: Sequence[int], texts: Texts, language: str
    ) -> None:
        self._session = session
        self._order = {question_id: n for n, question_id in enumerate(question_ids)}
        self._shown = Names(texts, language)
        self._pages: AsyncIterator[Sequence[Any]] | None = None
        self._held: list[Any] = []  # rows read ahead: of a later question
        self._ended = False

    async def _stream(self) -> AsyncIterator[Sequence[Any]]:
        if not self._order:
            return
        connection = await self._session.connection()
        result = await connection.stream(
            select(Prompt.question_id, Member.display_name, Member.anonymous, Reply.text)
            .select_from(Reply)
            .join(Prompt, Prompt.id == Reply.prompt_id)
            .join(Member, Member.id == Reply.member_id)
            .where(Prompt.question_id.in_(list(self._order)), visible(Reply))
            .order_by(case(self._order, value=Prompt.question_id), Reply.received_at, Reply.id)
            .execution_options(yield_per=PAGE)
        )
        async for rows in result.partitions():
            yield rows

    async def of(self, question_id: int) -> AsyncIterator[list[tuple[str, str]]]:
        """The question's answers, a page at a time: (name as shown, text)."""
        wanted = self._order[question_id]
        if self._pages is None:
            self._pages = self._stream()
        while True:
            if not self._held:
                if self._ended:
                    return
                try:
                    self._held = list(await anext(self._pages))
                except StopAsyncIteration:
                    self._ended = True
                    return
            held = self._held
            start = 0
            while start < len(held) and self._order[held[start][0]] < wanted:
                start += 1
            end = start
            while end < len(held) and self._order[held[end][0]] == wanted:
                end += 1
            if end > start:
                yield [(self._shown(name, anon), text) for _, name, anon, text in held[start:end]]
            self._held = held[end:]
            if self._held:  # the next question's rows begin in this page
                return


class Names:
    """Members' names as shown (anonymous ones as "A member"), each worked out once."""

    def __init__(self, texts: Texts, language: str) -> None:
        self._anonymous = texts.render("common.anonymous", language)

    def __call__(self, display_name: str, anonymous: bool) -> str:
        return self._anonymous if anonymous else display_name


async def file_size(session: AsyncSession, meeting: Meeting) -> int:
    """About how many bytes the brief's file takes: its answers, and a line per prompt."""
    total = await session.scalar(
        select(func.coalesce(func.sum(func.length(Reply.text)), 0) + func.count() * 60)
        .select_from(Prompt)
        .outerjoin(Reply, Reply.prompt_id == Prompt.id)
        .where(Prompt.meeting_id == meeting.id)
    )
    return int(total or 0)


class Buffer:
    """Rows written as CSV text, taken out a page at a time."""

    def __init__(self) -> None:
        self._out = io.StringIO()
        self.writer = csv.writer(self._out)

    def take(self) -> str:
        text = self._out.getvalue()
        self._out.seek(0)
        self._out.truncate()
        return text


async def csv_chunks(
    session: AsyncSession, texts: Texts, community: Community, meeting: Meeting, language: str
) -> AsyncIterator[str]:
    """The whole brief as CSV text, a page at a time (UTF-8 with a BOM, so spreadsheets
    read it right): the members' completion, every answer, who has not answered each
    question, who received, read or could not be reached. One row per fact: section,
    question, member, text, figure."""
    brief = await build_brief(session, texts, community, meeting, language, themes=False)
    buffer = Buffer()
    writer = buffer.writer
    answers = AnswersByQuestion(
        session, [section.question.id for section in brief.questions], texts, language
    )
    writer.writerow(["section", "question", "member", "text", "figure"])
    writer.writerow(["meeting", "", "", brief.meeting.title, brief.meeting.id])
    for section in brief.questions:
        writer.writerow(["question", section.number, "", section.text, section.answered])
    for person, count in brief.completion:
        writer.writerow(["completion", "", person.name, "", f"{count}/{brief.total}"])
    yield BOM + buffer.take()
    for section in brief.questions:
        async for rows in answers.of(section.question.id):
            writer.writerows(["answer", section.number, who, text, ""] for who, text in rows)
            yield buffer.take()
    # Who has not answered each question, from the bits the brief counted them by.
    for k, section in enumerate(brief.questions):
        flag = 1 << k
        writer.writerows(
            ["not_answered", section.number, person.name, "", ""]
            for person, mask in brief.masks
            if not mask & flag
        )
        yield buffer.take()
    for section_name, found in (
        ("received", brief.received),
        ("read", brief.read),
        ("unreachable", brief.unreachable),
        ("coming", brief.coming),
        ("maybe", brief.maybe),
        ("not_coming", brief.not_coming),
    ):
        writer.writerows([section_name, "", p.name, "", ""] for p in found)
    yield buffer.take()


@dataclass(frozen=True, slots=True)
class BriefMessage:
    text: str
    attachment: Attachment | None = None


async def brief_message(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    language: str,
    links: Links | None,
    now: datetime,
) -> BriefMessage:
    """The brief, and when it leaves something out, its file: a signed link to it on
    Indaba's web server, or (without one) the file itself when small enough to travel
    in the message."""
    brief = await build_brief(session, texts, community, meeting, language)
    if not brief.cut:
        return BriefMessage(render_brief(texts, community, brief, language))
    name = file_name(meeting)
    attachment = None
    if links is not None:
        url = links.brief(meeting.id, links.expiry(now))
        file = texts.render("brief.file_link", language, days=links.default_days, url=url)
        attachment = Attachment(url, name, CSV_TYPE)
    elif await file_size(session, meeting) <= DATA_LIMIT:
        data = "".join([c async for c in csv_chunks(session, texts, community, meeting, language)])
        body = base64.b64encode(data.encode()).decode("ascii")
        attachment = Attachment(f"data:{CSV_TYPE};base64,{body}", name, CSV_TYPE)
        file = texts.render("brief.file_attached", language, name=name)
    else:
        file = texts.render("brief.file_too_large", language, meeting_id=meeting.id)
    return BriefMessage(render_brief(texts, community, brief, language, file=file), attachment)
