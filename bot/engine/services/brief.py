"""The facilitator's brief: the pre-meeting answers, grouped by question."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.services import directory, dots, theme_texts
from bot.engine.services.meetings import local_time
from bot.engine.services.questions import question_set, question_text
from bot.engine.services.themes import Answer, Theme
from bot.engine.texts import Texts
from storage.models import (
    Community,
    Meeting,
    MeetingQuestion,
    Member,
    OutboxMessage,
    Prompt,
    Reply,
)
from storage.statuses import PromptStatus


@dataclass(slots=True)
class QuestionAnswers:
    question: MeetingQuestion
    text: str
    answers: list[tuple[str, str]] = field(default_factory=list)
    missing: int = 0
    # The same answers with what it takes to quote them, and their themes.
    quotes: list[Answer] = field(default_factory=list)
    themes: list[Theme] = field(default_factory=list)

    @property
    def unthemed(self) -> list[tuple[str, str]]:
        placed = {id(a) for theme in self.themes for a in theme.answers}
        return [(a.member, a.text) for a in self.quotes if id(a) not in placed]


@dataclass(slots=True)
class Brief:
    meeting: Meeting
    questions: list[QuestionAnswers]
    asked: list[Member]
    answered: list[Member]
    not_answered: list[Member]
    unreachable: list[Member]
    received: int = 0
    read: int = 0
    # Themes, recurring themes, agenda proposals and quiet voices (see services.dots).
    connected: dots.Dots | None = None

    @property
    def response_rate(self) -> float:
        return len(self.answered) / len(self.asked) if self.asked else 0.0


def shown_name(member: Member, texts: Texts, language: str) -> str:
    """Members who asked not to be named appear anonymised."""
    if member.anonymous:
        return texts.render("common.anonymous", language)
    return member.display_name


async def build_brief(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    meeting: Meeting,
    language: str,
    *,
    themes: bool = True,
) -> Brief:
    """The brief; with ``themes``, also what connects the answers (:mod:`.dots`)."""
    questions = await question_set(session, texts, meeting)
    prompts = (await session.scalars(select(Prompt).where(Prompt.meeting_id == meeting.id))).all()
    replies = {
        reply.prompt_id: reply
        for reply in (
            await session.scalars(
                select(Reply)
                .join(Prompt, Prompt.id == Reply.prompt_id)
                .where(Prompt.meeting_id == meeting.id)
                .order_by(Reply.received_at)
            )
        ).all()
    }
    members = {m.id: m for m in await directory.active_members(session, community.id)}
    for prompt in prompts:
        if prompt.member_id not in members:
            found = await session.get(Member, prompt.member_id)
            if found is not None:
                members[found.id] = found
    asked_ids = sorted(
        {p.member_id for p in prompts if p.status != PromptStatus.QUEUED or p.asked_at}
    )
    # An answer deleted by retention or with a member who asked to be forgotten still
    # counts: its prompt stays answered.
    answered_ids = sorted(
        {p.member_id for p in prompts if p.id in replies or p.status == PromptStatus.ANSWERED}
    )
    sections: list[QuestionAnswers] = []
    for question in questions:
        section = QuestionAnswers(question, question_text(texts, question, language))
        for prompt in prompts:
            if prompt.question_id != question.id:
                continue
            reply = replies.get(prompt.id)
            if reply is None:
                if prompt.status != PromptStatus.ANSWERED:
                    section.missing += 1
            else:
                who = shown_name(members[prompt.member_id], texts, language)
                section.answers.append((who, reply.text))
                section.quotes.append(
                    Answer(who, reply.text, len(sections) + 1, prompt.member_id, meeting.id,
                           reply.received_at)
                )  # fmt: skip
        sections.append(section)
    delivered = (
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.idempotency_key.in_([f"prompt:{p.id}" for p in prompts][:5000])
            )
        )
    ).all()
    unreachable = [
        m
        for m in members.values()
        if m.identities and all(i.unreachable_at is not None for i in m.identities)
    ]
    brief = Brief(
        meeting=meeting,
        questions=sections,
        asked=[members[i] for i in asked_ids if i in members],
        answered=[members[i] for i in answered_ids if i in members],
        not_answered=[members[i] for i in asked_ids if i not in answered_ids and i in members],
        unreachable=unreachable,
        received=sum(1 for row in delivered if row.delivered_at or row.read_at),
        read=sum(1 for row in delivered if row.read_at),
    )
    if themes:
        brief.connected = await dots.connect(
            session,
            community,
            meeting,
            [s.quotes for s in sections],
            lambda member: shown_name(member, texts, language),
            language,
        )
        for section, grouped in zip(sections, brief.connected.questions, strict=True):
            section.themes = grouped
    return brief


def render_brief(texts: Texts, community: Community, brief: Brief, language: str) -> str:
    return texts.render(
        "brief.text",
        language,
        community=community.name,
        meeting=brief.meeting.title,
        when=i18n.format_datetime(
            local_time(community, brief.meeting.starts_at), language, year=True
        ),
        sections=brief.questions,
        asked=len(brief.asked),
        answered=len(brief.answered),
        rate=round(brief.response_rate * 100),
        not_answered=[shown_name(m, texts, language) for m in brief.not_answered],
        unreachable=[shown_name(m, texts, language) for m in brief.unreachable],
        received=brief.received,
        read=brief.read,
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
