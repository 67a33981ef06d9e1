"""A member's free text, kept only when it answers what they are asked; and /undo.

The engine finds what the member is being asked (the open pre-meeting question or
another :class:`~bot.engine.registry.Awaiting`) and hands the text here. Nothing is
kept after /stop, nor a lone ``/``, nor a skip word outside the wall; a greeting or a
short question back is held with a one-tap "Is this your answer?" (the text waits in
the outbox row of that question, so a restart loses nothing). Whatever is kept is
said back with its number, and ``/undo`` takes the last of it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.engine.registry import Awaiting, AwaitingProbe, Registry
from bot.engine.services import filing, practices, wall
from bot.engine.services.filing import Verdict
from bot.engine.services.questions import MAX_ANSWER_LENGTH, question_set, question_text
from bot.engine.turn import Turn
from bot.messages import Choice
from storage.models import (
    Meeting,
    MeetingQuestion,
    OutboxMessage,
    Practice,
    PracticeAsk,
    Prompt,
    Reply,
    WallEntry,
)
from storage.statuses import ContextKind, ItemKind, PromptStatus

# The Awaiting kind of the weekly question a member was invited to post.
WEEKLY_QUESTION = "weekly-question"


@dataclass(frozen=True, slots=True)
class Target:
    """What the member is being asked: a pre-meeting question, or another awaiting."""

    prompt: Prompt | None = None
    awaiting: Awaiting | None = None

    @property
    def kind(self) -> str | None:
        if self.prompt is not None:
            return ItemKind.ANSWER
        return self.awaiting.kind if self.awaiting is not None else None


async def take(
    turn: Turn, target: Target, text: str, platform: str, message_id: str | None
) -> None:
    """Keep ``text`` for ``target`` if it is an answer; otherwise say why not."""
    assert turn.member is not None
    verdict = filing.classify(text, question=target.kind == WEEKLY_QUESTION)
    if verdict is Verdict.COMMAND:
        await turn.say("filing.command")
        return
    if turn.member.opted_out:
        await turn.say("filing.stopped")
        return
    kind = target.kind
    if kind is None:
        # Not kept as data (the re-opener): any text answers it.
        assert target.awaiting is not None
        await target.awaiting.answer(text)
        return
    if verdict is Verdict.SKIP and kind != ItemKind.WALL:
        await turn.say("filing.skipped", what=await _open(turn, target))
        return
    if verdict is Verdict.CHATTER:
        await _confirm(turn, target, text, platform, message_id)
        return
    await keep(turn, target, text, platform, message_id)


def may_replace(text: str) -> bool:
    """Whether an edited answer's new text replaces it: a skip word or a stray "/" does
    not (the answer keeps what it said)."""
    return filing.classify(text) not in (Verdict.COMMAND, Verdict.SKIP)


async def keep(
    turn: Turn, target: Target, text: str, platform: str, message_id: str | None
) -> None:
    await _settle_confirmations(turn)
    if target.prompt is not None:
        await _keep_answer(turn, target.prompt, text, platform, message_id)
    elif target.awaiting is not None:
        await target.awaiting.answer(text)


async def _position(turn: Turn, prompt: Prompt) -> tuple[Meeting, int, int]:
    meeting, live = await _questions_of(turn, prompt)
    return meeting, *_number(prompt, live)


async def _questions_of(turn: Turn, prompt: Prompt) -> tuple[Meeting, list[MeetingQuestion]]:
    """The prompt's meeting and that meeting's live questions."""
    meeting = await turn.session.get(Meeting, prompt.meeting_id)
    assert meeting is not None
    return meeting, await question_set(turn.session, turn.services.texts, meeting)


def _number(prompt: Prompt, live: list[MeetingQuestion]) -> tuple[int, int]:
    """The prompt's question's number among the ``live`` questions, and how many there are."""
    ids = [q.id for q in live]
    return (ids.index(prompt.question_id) + 1 if prompt.question_id in ids else 0), len(ids)


async def _keep_answer(
    turn: Turn, prompt: Prompt, text: str, platform: str, message_id: str | None
) -> None:
    assert turn.community is not None and turn.member is not None
    now = turn.services.clock.now()
    meeting, live = await _questions_of(turn, prompt)
    number, total = _number(prompt, live)
    if meeting.starts_at <= now:
        await turn.say("questions.closed")
        return
    if len(text) > MAX_ANSWER_LENGTH:
        await turn.say("error.too_long", limit=MAX_ANSWER_LENGTH)
        return
    existing = await turn.session.scalar(select(Reply).where(Reply.prompt_id == prompt.id))
    previous = existing.text if existing is not None else None
    # Said first, so it arrives before the next question that recording sends.
    await turn.say(
        "filing.updated_answer" if existing is not None else "filing.saved_answer",
        number=number,
        total=total,
    )
    reply = await turn.services.questions.keep_reply(
        turn.session,
        turn.community,
        meeting,
        turn.member,
        prompt,
        existing,
        text,
        platform,
        message_id,
        now,
        live,
    )
    await filing.record(
        turn.session, turn.member, ItemKind.ANSWER, reply.id, now, previous=previous
    )


async def _what(turn: Turn, target: Target, prefix: str) -> str:
    """``filing.what.*`` or ``filing.open.*``: what the member is asked, in words."""
    kind = target.kind or ""
    values: dict[str, Any] = {}
    if target.prompt is not None:
        _, values["number"], values["total"] = await _position(turn, target.prompt)
    elif kind == ItemKind.PRACTICE:
        assert turn.member is not None
        ask = await practices.open_ask(turn.session, turn.member, turn.services.clock.now())
        meeting = await turn.session.get(Meeting, ask.meeting_id) if ask else None
        values["meeting"] = meeting.title if meeting else ""
    elif kind == ItemKind.WALL:
        assert turn.member is not None
        entry = await wall.entry_of(turn.session, turn.member)
        values["field"] = turn.t("wall.field", field=entry.pending_field if entry else "")
    key: dict[str, str] = {
        ItemKind.ANSWER: "answer",
        ItemKind.PRACTICE: "practice",
        ItemKind.WALL: "wall",
    }
    return turn.t(f"{prefix}.{key.get(kind, 'weekly')}", **values)


async def _open(turn: Turn, target: Target) -> str:
    return await _what(turn, target, "filing.open")


async def _confirm(
    turn: Turn, target: Target, text: str, platform: str, message_id: str | None
) -> None:
    await turn.reply(
        turn.t("filing.confirm", what=await _what(turn, target, "filing.what"), text=text),
        choices=(Choice("yes", turn.t("filing.yes")), Choice("no", turn.t("filing.no"))),
        context={
            "kind": ContextKind.FILING_CONFIRM,
            "target": target.kind,
            "prompt_id": target.prompt.id if target.prompt is not None else None,
            "text": text,
            "platform": platform,
            "message_id": message_id,
        },
    )


async def _settle_confirmations(turn: Turn) -> None:
    """Close the confirmations still open in this conversation.

    Their choices are cleared so that a number typed later is not read as a tap on
    them (a typed number goes to the latest message that offered choices).
    """
    event = turn.event
    rows = await turn.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.platform == event.platform,
            OutboxMessage.conversation_id == event.conversation.id,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(20)
    )
    for row in rows:
        if row.choices and (row.context or {}).get("kind") == ContextKind.FILING_CONFIRM:
            row.choices = []


async def _target_again(
    turn: Turn, context: dict[str, Any], probes: list[AwaitingProbe]
) -> Target | None:
    """What the confirmation was about, if the member is still being asked it."""
    assert turn.member is not None
    kind = context.get("target")
    if kind == ItemKind.ANSWER:
        prompt = await turn.session.get(Prompt, int(context.get("prompt_id") or 0))
        if (
            prompt is None
            or prompt.member_id != turn.member.id
            or prompt.status != PromptStatus.ASKED
        ):
            return None
        return Target(prompt=prompt)
    for probe in probes:
        found = await probe(turn)
        if found is not None and found.kind == kind:
            return Target(awaiting=found)
    return None


async def confirmed(
    turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...], probes: list[AwaitingProbe]
) -> None:
    """The member's yes or no to "Is this your answer?"."""
    if turn.member is None or not choice_ids or row.member_id != turn.member.id:
        return
    if not row.choices:
        return
    context = dict(row.context or {})
    text = str(context.get("text") or "")
    row.choices = []
    target = await _target_again(turn, context, probes)
    if target is None:
        await turn.say("filing.expired")
        return
    if choice_ids[-1] != "yes":
        await turn.say("filing.declined", what=await _open(turn, target))
        return
    message_id = context.get("message_id")
    await keep(
        turn,
        target,
        text,
        str(context.get("platform") or turn.event.platform),
        str(message_id) if message_id else None,
    )


# -- /undo ------------------------------------------------------------------------------


async def undo(turn: Turn, args: str) -> None:
    """Take back the member's last kept answer, practice or wall line."""
    assert turn.community is not None and turn.member is not None
    session, member = turn.session, turn.member
    now = turn.services.clock.now()
    last = await filing.last(session, member)
    if last is None:
        await turn.say("undo.nothing", private=True)
        return
    kind, previous = ItemKind(last.kind), last.previous
    if kind is ItemKind.ANSWER:
        reply = await session.get(Reply, last.item_id)
        prompt = await session.get(Prompt, reply.prompt_id) if reply else None
        if reply is None or prompt is None:
            await session.delete(last)
            await turn.say("undo.nothing", private=True)
            return
        meeting, number, total = await _position(turn, prompt)
        if meeting.starts_at <= now:
            await turn.say("questions.closed", private=True)
            return
        await session.delete(last)
        if previous is not None:
            reply.text, reply.edited_at = previous, now
            await turn.say("undo.answer_restored", private=True, number=number, total=total)
            return
        await session.delete(reply)
        # The question is open again: the member's next text answers it.
        prompt.status, prompt.answered_at, prompt.asked_at = PromptStatus.ASKED, None, now
        await turn.say("undo.answer", private=True, number=number, total=total)
        question = next(
            q
            for q in await question_set(session, turn.services.texts, meeting)
            if q.id == prompt.question_id
        )
        await turn.reply(
            turn.t(
                "questions.ask",
                intro=False,
                name=member.display_name,
                community=turn.community.name,
                meeting=meeting.title,
                when="",
                number=number,
                total=total,
                question=question_text(turn.services.texts, question, turn.language),
            ),
            private=True,
            context={"kind": ContextKind.PROMPT, "prompt_id": prompt.id},
        )
        return
    if kind is ItemKind.PRACTICE:
        practice = await session.get(Practice, last.item_id)
        await session.delete(last)
        if practice is None:
            await turn.say("undo.nothing", private=True)
            return
        reopened = False
        if practice.meeting_id is not None:
            ask = await session.scalar(
                select(PracticeAsk).where(
                    PracticeAsk.meeting_id == practice.meeting_id,
                    PracticeAsk.member_id == member.id,
                )
            )
            if ask is not None:
                ask.answered_at, reopened = None, True
        number = practice.id
        await session.delete(practice)
        await session.flush()
        await turn.say("undo.practice", private=True, number=number, reopened=reopened)
        return
    entry = await session.get(WallEntry, last.item_id)
    field = last.field or ""
    await session.delete(last)
    if entry is None or field not in wall.FIELDS:
        await turn.say("undo.nothing", private=True)
        return
    setattr(entry, field, previous)
    # The wall asks that question again, and goes on from there.
    entry.pending_field, entry.pending_since = field, now
    await session.flush()
    current = getattr(entry, field) or ""
    await turn.reply(
        turn.t("undo.wall") + "\n\n" + turn.t(f"wall.ask.{field}", current=current),
        private=True,
    )


def register(registry: Registry) -> None:
    registry.command("undo", undo, usage="/undo")

    async def on_confirmation(turn: Turn, row: OutboxMessage, choices: tuple[str, ...]) -> None:
        await confirmed(turn, row, choices, registry.probes)

    registry.on_choice(ContextKind.FILING_CONFIRM, on_confirmation)
