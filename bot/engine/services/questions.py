"""Pre-meeting questions: the question set, asking, replies, reminders and edits.

Questions are asked one at a time in each member's DM; a reply goes to the question
it answers (reply-to or thread where the platform has them, otherwise the member's
open question) and the next question follows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.engine import i18n
from bot.engine.community_settings import CommunitySettings
from bot.engine.services import attendance, directory, timing
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.engine.texts import Texts
from bot.runtime.outbox import Envelope
from storage.bulk import insert_ignore
from storage.models import (
    Community,
    Meeting,
    MeetingQuestion,
    Member,
    OutboxMessage,
    Prompt,
    Reply,
)
from storage.statuses import ContextKind, OutboxStatus, PromptStatus

MAX_ANSWER_LENGTH = 4000
# Members a step's fan-out handles at once (their prompts and outbox rows, one page):
# what it holds in memory, whatever the community's size.
PAGE = 500
# Rows a turn loaded alongside what it asked for, kept alive in ``session.info``.
_LOADED = "indaba.loaded"


class QuestionError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def question_text(texts: Texts, question: MeetingQuestion, language: str) -> str:
    """The question as a member reading ``language`` sees it: a facilitator's wording
    for that language, else their wording for everyone, else the library's."""
    own = (question.texts or {}).get(language)
    if own:
        return str(own)
    if question.text:
        return question.text
    if question.library_key:
        library = texts.library_question(question.library_key)
        if library is not None:
            return library.in_language(language)
    # Written for one language only so far: shown as written.
    written = next(iter((question.texts or {}).values()), None)
    return str(written) if written else question.library_key or ""


async def question_set(
    session: AsyncSession, texts: Texts, meeting: Meeting
) -> list[MeetingQuestion]:
    """The meeting's live questions, taken from the library the first time they are needed."""
    rows = list(
        (
            await session.scalars(
                select(MeetingQuestion)
                .where(MeetingQuestion.meeting_id == meeting.id)
                .order_by(MeetingQuestion.position)
            )
        ).all()
    )
    if not rows:
        community = await session.get(Community, meeting.community_id)
        own = community_library(community, meeting.kind) if community is not None else None
        if own is not None:
            for position, saved in enumerate(own, start=1):
                question = MeetingQuestion(
                    meeting_id=meeting.id,
                    position=position,
                    library_key=saved.get("key"),
                    text=saved.get("text"),
                    texts=dict(saved.get("texts") or {}),
                )
                session.add(question)
                rows.append(question)
        else:
            for position, library in enumerate(texts.questions.get(meeting.kind, []), start=1):
                question = MeetingQuestion(
                    meeting_id=meeting.id, position=position, library_key=library.key
                )
                session.add(question)
                rows.append(question)
        await session.flush()
    return [row for row in rows if row.removed_at is None]


# Where a community keeps its own question set per meeting kind, in its settings.
LIBRARY_SETTING = "question_library"


def community_library(community: Community, kind: str) -> list[dict[str, Any]] | None:
    """The community's own questions for meetings of ``kind`` (``/questions save``), or
    None when it uses Indaba's library."""
    saved = (community.settings or {}).get(LIBRARY_SETTING) or {}
    questions = saved.get(kind)
    return list(questions) if isinstance(questions, list) and questions else None


def save_library(
    community: Community, kind: str, questions: Sequence[MeetingQuestion] | None
) -> None:
    """Keep ``questions`` (their library keys and the facilitators' wordings, in every
    language) as the community's set for later meetings of ``kind``; None goes back to
    Indaba's library."""
    settings = dict(community.settings or {})
    saved = dict(settings.get(LIBRARY_SETTING) or {})
    if questions is None:
        saved.pop(kind, None)
    else:
        saved[kind] = [
            {"key": q.library_key, "text": q.text, "texts": dict(q.texts or {})} for q in questions
        ]
    settings[LIBRARY_SETTING] = saved
    # A new dict, so the JSON column is seen as changed.
    community.settings = settings


async def add_question(
    session: AsyncSession, texts: Texts, meeting: Meeting, text: str, language: str | None = None
) -> MeetingQuestion:
    """A facilitator's own question, last; with ``language``, written for members reading
    it (others see it too until it is worded for them with :func:`edit_question`)."""
    text = text.strip()
    if not text:
        raise QuestionError("questions.usage")
    if len(text) > 1000:
        raise QuestionError("error.too_long")
    await question_set(session, texts, meeting)
    last = await session.scalar(
        select(func.max(MeetingQuestion.position)).where(MeetingQuestion.meeting_id == meeting.id)
    )
    question = MeetingQuestion(
        meeting_id=meeting.id,
        position=(last or 0) + 1,
        text=None if language else text,
        texts={language: text} if language else {},
    )
    session.add(question)
    await session.flush()
    return question


async def remove_question(
    session: AsyncSession, texts: Texts, meeting: Meeting, number: int, now: datetime
) -> MeetingQuestion:
    live = await question_set(session, texts, meeting)
    if not 1 <= number <= len(live):
        raise QuestionError("questions.no_such")
    question = live[number - 1]
    question.removed_at = now
    # Nobody is asked a removed question any more.
    await session.execute(
        update(Prompt)
        .where(Prompt.question_id == question.id, Prompt.status == PromptStatus.QUEUED)
        .values(status=PromptStatus.WITHDRAWN)
    )
    return question


async def questions_out(session: AsyncSession, meeting: Meeting) -> bool:
    """Whether the meeting's questions went out (someone was asked one)."""
    found = await session.scalar(
        select(Prompt.id)
        .where(Prompt.meeting_id == meeting.id, Prompt.asked_at.is_not(None))
        .limit(1)
    )
    return found is not None


def _checked(text: str) -> str:
    text = text.strip()
    if not text:
        raise QuestionError("questions.edit_usage")
    if len(text) > 1000:
        raise QuestionError("error.too_long")
    return text


async def edit_question(
    session: AsyncSession,
    texts: Texts,
    meeting: Meeting,
    number: int,
    text: str,
    language: str | None = None,
) -> MeetingQuestion:
    """Reword question ``number`` for everyone, or for members reading ``language``
    only; refused once the questions went out."""
    if await questions_out(session, meeting):
        raise QuestionError("questions.out")
    live = await question_set(session, texts, meeting)
    if not 1 <= number <= len(live):
        raise QuestionError("questions.no_such")
    question = live[number - 1]
    text = _checked(text)
    if language is None:
        # A new wording for everyone replaces the per-language ones written before it.
        question.text = text
        question.texts = {}
    else:
        question.texts = {**(question.texts or {}), language: text}
    await session.flush()
    return question


async def move_question(
    session: AsyncSession, texts: Texts, meeting: Meeting, number: int, to: int
) -> MeetingQuestion:
    """Put question ``number`` in place ``to``; refused once the questions went out."""
    if await questions_out(session, meeting):
        raise QuestionError("questions.out")
    live = await question_set(session, texts, meeting)
    if not (1 <= number <= len(live) and 1 <= to <= len(live)):
        raise QuestionError("questions.no_such")
    question = live.pop(number - 1)
    live.insert(to - 1, question)
    removed = (
        await session.scalars(
            select(MeetingQuestion).where(
                MeetingQuestion.meeting_id == meeting.id, MeetingQuestion.removed_at.is_not(None)
            )
        )
    ).all()
    for position, row in enumerate([*live, *removed], start=1):
        row.position = position
    await session.flush()
    return question


def _page_of(column: InstrumentedAttribute[int], ids: Collection[int]) -> list[ColumnElement[bool]]:
    """``column`` is one of ``ids``, said as their range too: PostgreSQL, before it has
    statistics on a table the step fills, reads the whole table for the IN list alone."""
    return [column.between(min(ids), max(ids)), column.in_(list(ids))]


@dataclass(slots=True)
class QuestionService:
    messenger: Messenger

    @property
    def texts(self) -> Texts:
        return self.messenger.texts

    # -- asking -------------------------------------------------------------------

    async def ask_all(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        step: LocalTime | None = None,
        only: Callable[[Member], bool] | None = None,
    ) -> int:
        """The questions step: queue every question for every active member (those
        ``only`` accepts, when given), ask the first (at the step's local time for each
        member, see :func:`timing.deliver_at`)."""
        questions = await question_set(session, self.texts, meeting)
        if not questions:
            return 0
        everyone = CommunitySettings.of(community.settings).ask_facilitators
        asked = 0
        async for page in directory.member_pages(session, community.id, PAGE):
            members = [
                m for m in page if (everyone or not m.is_facilitator) and (only is None or only(m))
            ]
            asked += await self._ask_page(
                session, community, meeting, questions, members, now, step
            )
        return asked

    async def catch_up(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        member: Member,
        now: datetime,
    ) -> int:
        """A member who joined after the questions went out is asked them too."""
        return await self._ask_members(session, community, meeting, [member], now)

    async def _ask_members(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        members: Sequence[Member],
        now: datetime,
        step: LocalTime | None = None,
    ) -> int:
        questions = await question_set(session, self.texts, meeting)
        if not questions:
            return 0
        asked = 0
        for start in range(0, len(members), PAGE):
            page = members[start : start + PAGE]
            asked += await self._ask_page(session, community, meeting, questions, page, now, step)
        return asked

    async def _ask_page(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        questions: Sequence[MeetingQuestion],
        members: Sequence[Member],
        now: datetime,
        step: LocalTime | None,
    ) -> int:
        """Queue the questions for one page of members and ask each their first."""
        if not members:
            return 0
        rows = [
            {
                "meeting_id": meeting.id,
                "question_id": question.id,
                "member_id": member.id,
                "status": PromptStatus.QUEUED,
                "created_at": now,
            }
            for member in members
            for question in questions
        ]
        await insert_ignore(session, Prompt, rows, ["question_id", "member_id"])
        by_member = {member.id: member for member in members}
        # Rows, not objects: nothing of the page stays in the session's identity map.
        prompts = await session.execute(
            select(Prompt.id, Prompt.member_id, Prompt.question_id, Prompt.status)
            .join(MeetingQuestion, MeetingQuestion.id == Prompt.question_id)
            .where(
                Prompt.meeting_id == meeting.id,
                *_page_of(Prompt.member_id, by_member),
                MeetingQuestion.removed_at.is_(None),
            )
            .order_by(Prompt.member_id, MeetingQuestion.position)
        )
        first: dict[int, tuple[int, int]] = {}
        busy: set[int] = set()
        for prompt_id, member_id, question_id, status in prompts:
            if status == PromptStatus.ASKED:
                busy.add(member_id)
            elif status == PromptStatus.QUEUED and member_id not in first:
                first[member_id] = (prompt_id, question_id)
        envelopes: list[Envelope] = []
        # A question counts as asked from when it reaches the member, so nothing they
        # write before then is taken as its answer.
        asked: dict[datetime, list[int]] = {}
        totals = len(questions)
        positions = {q.id: i for i, q in enumerate(questions, start=1)}
        texts_by_id = {q.id: q for q in questions}
        for member_id, (prompt_id, question_id) in first.items():
            if member_id in busy:
                continue
            member = by_member[member_id]
            envelope = self._question_envelope(
                community,
                meeting,
                member,
                prompt_id,
                texts_by_id[question_id],
                positions[question_id],
                totals,
                intro=True,
            )
            if envelope is not None:
                at = timing.deliver_at(community, member, now, step)
                # Whether they will come is asked with the questions, just after the first.
                will_come = attendance.ask_envelope(self.messenger, community, meeting, member)
                for one in (envelope, will_come):
                    if one is not None:
                        envelopes.append(replace(one, not_before=at) if at > now else one)
                asked.setdefault(at, []).append(prompt_id)
        await self.messenger.outbox.put(session, envelopes)
        for at, ids in asked.items():
            await self._mark_asked(session, ids, at)
        return sum(len(ids) for ids in asked.values())

    async def _prompts(
        self, session: AsyncSession, meeting: Meeting, member_ids: list[int]
    ) -> Sequence[Prompt]:
        query = (
            select(Prompt)
            .join(MeetingQuestion, MeetingQuestion.id == Prompt.question_id)
            .where(Prompt.meeting_id == meeting.id, MeetingQuestion.removed_at.is_(None))
            .order_by(Prompt.member_id, MeetingQuestion.position)
        )
        if member_ids and len(member_ids) <= 500:
            query = query.where(Prompt.member_id.in_(member_ids))
        return (await session.scalars(query)).all()

    async def _mark_asked(
        self, session: AsyncSession, prompt_ids: list[int], now: datetime
    ) -> None:
        for start in range(0, len(prompt_ids), 500):
            await session.execute(
                update(Prompt)
                .where(Prompt.id.in_(prompt_ids[start : start + 500]))
                .values(status=PromptStatus.ASKED, asked_at=now)
                .execution_options(synchronize_session=False)
            )

    def _question_envelope(
        self,
        community: Community,
        meeting: Meeting,
        member: Member,
        prompt_id: int,
        question: MeetingQuestion,
        number: int,
        total: int,
        *,
        intro: bool = False,
        prefix: str = "",
    ) -> Envelope | None:
        language = self.messenger.language(community, member)
        text = self.texts.render(
            "questions.ask",
            language,
            intro=intro,
            name=member.display_name,
            community=community.name,
            meeting=meeting.title,
            when=i18n.format_datetime(i18n.local(meeting.starts_at, community, member), language),
            number=number,
            total=total,
            question=question_text(self.texts, question, language),
        )
        key = f"prompt:{prompt_id}" if not prefix else f"{prefix}:{prompt_id}"
        return self.messenger.member_envelope(
            community,
            member,
            key,
            text,
            context={"kind": ContextKind.PROMPT, "prompt_id": prompt_id},
        )

    async def ask_next(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        member: Member,
        now: datetime,
        questions: list[MeetingQuestion] | None = None,
    ) -> bool:
        """Ask the member's next queued question; thank them when none is left.

        ``questions``: the meeting's live questions, when read already this turn.
        """
        if questions is None:
            questions = await question_set(session, self.texts, meeting)
        prompts = await self._prompts(session, meeting, [member.id])
        if any(p.status == PromptStatus.ASKED for p in prompts):
            return False
        queued = next((p for p in prompts if p.status == PromptStatus.QUEUED), None)
        if queued is None:
            await self.messenger.to_member(
                session,
                community,
                member,
                f"questions-done:{meeting.id}:{member.id}",
                self.messenger.t(community, member, "questions.done", meeting=meeting.title),
            )
            return False
        positions = {q.id: i for i, q in enumerate(questions, start=1)}
        by_id = {q.id: q for q in questions}
        envelope = self._question_envelope(
            community,
            meeting,
            member,
            queued.id,
            by_id[queued.question_id],
            positions[queued.question_id],
            len(questions),
        )
        if envelope is None:
            return False
        await self.messenger.outbox.put_one(session, envelope)
        await self._mark_asked(session, [queued.id], now)
        return True

    async def follow_move(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> int:
        """The meeting moved: first questions still waiting in the outbox for a member's
        own hour (with their will-you-come question) are asked again for the new
        questions day, worded for the new date. Returns how many members."""
        settings = CommunitySettings.of(community.settings)
        zone = ZoneInfo(community.timezone)
        day = meeting.starts_at.astimezone(zone).date() - timedelta(
            days=settings.questions_days_before
        )
        step = LocalTime(day, settings.send_at, meeting.starts_at)
        asked = {
            p.id: p
            for p in await self._prompts(session, meeting, [])
            if p.status == PromptStatus.ASKED
        }
        waiting = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.community_id == community.id,
                    OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.HELD)),
                    OutboxMessage.sent_at.is_(None),
                    or_(
                        OutboxMessage.idempotency_key.startswith("prompt:"),
                        OutboxMessage.idempotency_key.startswith(
                            f"attendance:{meeting.id}:", autoescape=True
                        ),
                    ),
                )
            )
        ).all()
        keys = {f"prompt:{pid}": prompt for pid, prompt in asked.items()}
        again: set[int] = set()
        for row in waiting:
            prompt = keys.get(row.idempotency_key)
            if prompt is not None:
                # Never sent: the question waits, queued, to be asked for the new day.
                prompt.status = PromptStatus.QUEUED
                prompt.asked_at = None
                again.add(prompt.member_id)
        for row in waiting:
            if row.idempotency_key in keys or row.member_id in again:
                await session.delete(row)
        await session.flush()
        if not again:
            return 0
        members = [
            m for m in await directory.active_members(session, community.id) if m.id in again
        ]
        return await self._ask_members(session, community, meeting, members, now, step)

    # -- replies --------------------------------------------------------------------

    async def open_prompt(
        self, session: AsyncSession, member: Member, now: datetime
    ) -> Prompt | None:
        """The question the member was asked last and has not answered, if its meeting is ahead.

        Its meeting is loaded with it (``session.get`` finds it then without a query).
        """
        found = (
            await session.execute(
                select(Prompt, Meeting)
                .join(Meeting, Meeting.id == Prompt.meeting_id)
                .where(
                    Prompt.member_id == member.id,
                    Prompt.status == PromptStatus.ASKED,
                    Prompt.asked_at <= now,
                    Meeting.starts_at > now,
                    Meeting.cancelled_at.is_(None),
                )
                .order_by(Prompt.asked_at.desc(), Prompt.id.desc())
                .limit(1)
            )
        ).first()
        if found is None:
            return None
        prompt, meeting = found
        # Held by the session while the prompt is (the identity map keeps objects weakly).
        session.info.setdefault(_LOADED, []).append(meeting)
        return prompt

    async def record_reply(
        self,
        session: AsyncSession,
        community: Community,
        member: Member,
        prompt: Prompt,
        text: str,
        platform: str,
        message_id: str | None,
        now: datetime,
    ) -> str:
        """Store an answer (or replace it); returns the text key of the acknowledgement."""
        if len(text) > MAX_ANSWER_LENGTH:
            return "error.too_long"
        meeting = await session.get(Meeting, prompt.meeting_id)
        assert meeting is not None
        if meeting.starts_at <= now:
            return "questions.closed"
        reply = await session.scalar(select(Reply).where(Reply.prompt_id == prompt.id))
        await self.keep_reply(
            session, community, meeting, member, prompt, reply, text, platform, message_id, now
        )
        return "questions.updated" if reply is not None else ""

    async def keep_reply(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        member: Member,
        prompt: Prompt,
        reply: Reply | None,
        text: str,
        platform: str,
        message_id: str | None,
        now: datetime,
        questions: list[MeetingQuestion] | None = None,
    ) -> Reply:
        """Store the answer to ``prompt`` (``reply``: the one stored before, which it
        replaces) and ask the next question of ``meeting``'s live ``questions`` (read
        when not given); returns the stored reply."""
        if reply is not None:
            reply.text = text
            reply.edited_at = now
            reply.platform, reply.message_id = platform, message_id
            return reply
        reply = Reply(
            prompt_id=prompt.id,
            member_id=member.id,
            text=text,
            platform=platform,
            message_id=message_id,
            received_at=now,
        )
        session.add(reply)
        was_asked = prompt.status == PromptStatus.ASKED
        prompt.status = PromptStatus.ANSWERED
        prompt.answered_at = now
        await session.flush()
        if was_asked:
            await self.ask_next(session, community, meeting, member, now, questions)
        return reply

    async def edit_reply(
        self, session: AsyncSession, platform: str, message_id: str, text: str, now: datetime
    ) -> bool:
        """A member edited the message that carried an answer: the stored answer follows."""
        reply = await session.scalar(
            select(Reply).where(Reply.platform == platform, Reply.message_id == message_id)
        )
        if reply is None or len(text) > MAX_ANSWER_LENGTH:
            return False
        prompt = await session.get(Prompt, reply.prompt_id)
        meeting = await session.get(Meeting, prompt.meeting_id) if prompt else None
        if meeting is None or meeting.starts_at <= now:
            return False
        reply.text = text
        reply.edited_at = now
        return True

    async def answers(
        self, session: AsyncSession, meeting: Meeting, member: Member
    ) -> list[tuple[MeetingQuestion, Prompt | None, Reply | None]]:
        questions = await question_set(session, self.texts, meeting)
        prompts = {p.question_id: p for p in await self._prompts(session, meeting, [member.id])}
        replies = {
            r.prompt_id: r
            for r in (
                await session.scalars(
                    select(Reply).where(Reply.prompt_id.in_([p.id for p in prompts.values()]))
                )
            ).all()
        }
        out = []
        for question in questions:
            prompt = prompts.get(question.id)
            out.append((question, prompt, replies.get(prompt.id) if prompt else None))
        return out

    async def answer_by_number(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        member: Member,
        number: int,
        text: str,
        platform: str,
        now: datetime,
    ) -> str:
        rows = await self.answers(session, meeting, member)
        if not 1 <= number <= len(rows):
            return "questions.no_such"
        question, prompt, _ = rows[number - 1]
        if prompt is None:
            await insert_ignore(
                session,
                Prompt,
                [
                    {
                        "meeting_id": meeting.id,
                        "question_id": question.id,
                        "member_id": member.id,
                        "status": PromptStatus.QUEUED,
                        "created_at": now,
                    }
                ],
                ["question_id", "member_id"],
            )
            prompt = await session.scalar(
                select(Prompt).where(
                    Prompt.question_id == question.id, Prompt.member_id == member.id
                )
            )
            assert prompt is not None
        key = await self.record_reply(session, community, member, prompt, text, platform, None, now)
        return key or "questions.saved"

    # -- reminders --------------------------------------------------------------------

    async def remind(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        step: LocalTime | None = None,
        only: Callable[[Member], bool] | None = None,
    ) -> list[str]:
        """Remind every member who has questions left (of those ``only`` accepts, when
        given), repeating the open one; never twice for one meeting (a reminder sent
        with /remind now counts), never before the question it repeats reached them.
        Returns the names of the members reminded, in the order of their reminders."""
        questions = await question_set(session, self.texts, meeting)
        if not questions:
            return []
        reminded: list[str] = []
        async for page in directory.member_pages(session, community.id, PAGE):
            members = [m for m in page if only is None or only(m)]
            reminded += await self._remind_page(
                session, community, meeting, questions, members, now, step
            )
        return reminded

    async def _remind_page(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        questions: Sequence[MeetingQuestion],
        members: Sequence[Member],
        now: datetime,
        step: LocalTime | None,
    ) -> list[str]:
        """Remind one page of members; returns the names of those reminded."""
        if not members:
            return []
        positions = {q.id: i for i, q in enumerate(questions, start=1)}
        by_id = {q.id: q for q in questions}
        by_member = {m.id: m for m in members}
        rows = await session.execute(
            select(
                Prompt.id,
                Prompt.member_id,
                Prompt.question_id,
                Prompt.status,
                Prompt.asked_at,
                Prompt.reminded_at,
            )
            .join(MeetingQuestion, MeetingQuestion.id == Prompt.question_id)
            .where(
                Prompt.meeting_id == meeting.id,
                *_page_of(Prompt.member_id, by_member),
                Prompt.status.in_((PromptStatus.ASKED, PromptStatus.QUEUED)),
                MeetingQuestion.removed_at.is_(None),
            )
            .order_by(Prompt.member_id, MeetingQuestion.position)
        )
        left: dict[int, list[Any]] = {}
        for row in rows:
            left.setdefault(row.member_id, []).append(row)
        envelopes: list[Envelope] = []
        reminded: list[int] = []
        # The questions still waiting to be asked that the reminder repeats: asked with it.
        asked: dict[datetime, list[int]] = {}
        for member_id, pending in left.items():
            member = by_member[member_id]
            if any(p.reminded_at is not None for p in pending):
                continue
            current = next((p for p in pending if p.status == PromptStatus.ASKED), pending[0])
            language = self.messenger.language(community, member)
            text = self.texts.render(
                "questions.reminder",
                language,
                name=member.display_name,
                meeting=meeting.title,
                when=i18n.format_datetime(
                    i18n.local(meeting.starts_at, community, member), language
                ),
                left=len(pending),
                total=len(questions),
                number=positions[current.question_id],
                question=question_text(self.texts, by_id[current.question_id], language),
            )
            envelope = self.messenger.member_envelope(
                community,
                member,
                f"reminder:{meeting.id}:{member_id}",
                text,
                context={"kind": ContextKind.PROMPT, "prompt_id": current.id},
            )
            if envelope is not None:
                at = timing.deliver_at(community, member, now, step)
                if current.asked_at is not None and current.asked_at > at:
                    # The question still waits for the member's hour: not reminded first.
                    at = current.asked_at
                envelopes.append(replace(envelope, not_before=at) if at > now else envelope)
                reminded.extend(p.id for p in pending)
                if current.status == PromptStatus.QUEUED:
                    asked.setdefault(at, []).append(current.id)
        await self.messenger.outbox.put(session, envelopes)
        for at, ids in asked.items():
            await self._mark_asked(session, ids, at)
        for start in range(0, len(reminded), 500):
            await session.execute(
                update(Prompt)
                .where(Prompt.id.in_(reminded[start : start + 500]))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
        return [by_member[e.member_id].display_name for e in envelopes if e.member_id]
