"""What a number typed in a DM means: a choice, an answer, or a question back.

A member who types ``2`` may be choosing from the last message that offered numbered
choices (a ballot part, a list) or answering the question they were asked last. A
number that can only mean one thing is taken at once; when it could be either, Indaba
asks back in one short message with both meanings as one-tap choices ("Is 2 your
answer to question 2, or a vote for item 2?"). Everything the answer needs is kept in
that message's outbox row, so a restart changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.engine.registry import Registry
from bot.engine.services.questions import question_set
from bot.engine.turn import Turn
from bot.messages import Choice, MessageReceived
from storage.models import AgendaRound, Meeting, OutboxMessage, Prompt
from storage.statuses import ContextKind, OutboxStatus, PromptStatus, RoundStatus

# How far back the last message offering choices is looked for.
RECENT = 20
AS_ANSWER, AS_CHOICE = "answer", "choice"
# Choices a member asked for themselves, by a command, just now (/forget's confirmation,
# the facilitator's /attended list): a number typed next is meant for them, even while
# a question is open.
ASKED_FOR = frozenset({ContextKind.FORGET, ContextKind.ATTENDED})


def typed_numbers(text: str) -> list[int] | None:
    """``"2"``, ``"2 3"``, ``"2, 3"`` → the numbers; None when the text is anything else."""
    parts = text.replace(",", " ").split()
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return [int(part) for part in parts]


def shown_numbers(rows: list[OutboxMessage]) -> dict[int, tuple[OutboxMessage, str]]:
    """Number a member types → (message, choice id), as the messages showed them (a
    ballot's part 2 shows its items' own numbers, 11 and 12; other lists 1, 2, ...)."""
    return {
        int(choice.get("number") or position): (row, str(choice["id"]))
        for row in rows
        for position, choice in enumerate(row.choices or [], start=1)
    }


def _is_question_back(row: OutboxMessage) -> bool:
    # "Is this your answer?" (bot.engine.commands.filing) is a question back too.
    kind = (row.context or {}).get("kind")
    return kind in (ContextKind.NUMBER_MEANING, ContextKind.FILING_CONFIRM)


async def latest_choice_messages(turn: Turn, *, questions_back: bool) -> list[OutboxMessage]:
    """The last message in this conversation that offered choices; for a ballot sent in
    parts, the last of each part, since the member types the numbers any part shows.
    A question back counts while it waits for its answer, and only with ``questions_back``."""
    event = turn.event
    recent = list(
        await turn.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.platform == event.platform,
                OutboxMessage.conversation_id == event.conversation.id,
                OutboxMessage.status == OutboxStatus.SENT,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(RECENT)
        )
    )
    latest = next(
        (
            row
            for row in recent
            if row.choices
            and not (
                _is_question_back(row)
                and (not questions_back or (row.context or {}).get("settled"))
            )
        ),
        None,
    )
    if latest is None:
        return []
    context = latest.context or {}
    if context.get("kind") != ContextKind.AGENDA_BALLOT or int(context.get("parts") or 1) < 2:
        return [latest]
    parts: dict[int, OutboxMessage] = {}
    for row in recent:
        other = row.context or {}
        if (
            row.choices
            and other.get("kind") == ContextKind.AGENDA_BALLOT
            and other.get("round_id") == context.get("round_id")
        ):
            parts.setdefault(int(other.get("part") or 1), row)
    return [parts[part] for part in sorted(parts)]


async def _still_open(turn: Turn, row: OutboxMessage) -> bool:
    """Whether choosing on ``row`` can still do anything (a ballot: voting is open)."""
    context = row.context or {}
    if context.get("kind") == ContextKind.AGENDA_BALLOT:
        found = await turn.session.get(AgendaRound, int(context.get("round_id") or 0))
        return found is not None and found.status == RoundStatus.VOTING
    return True


async def typed(turn: Turn, text: str, registry: Registry) -> bool:
    """Handle ``text`` when it is a typed number meant as a choice; False to let the
    engine take it as an answer (or anything else plain text may be)."""
    numbers = typed_numbers(text)
    if numbers is None or turn.member is None or turn.community is None:
        return False
    rows = await latest_choice_messages(turn, questions_back=True)
    if rows and _is_question_back(rows[-1]):
        shown = shown_numbers(rows)
        if len(numbers) == 1 and numbers[0] in shown:
            # The member answers the question back itself: nothing else is meant.
            row, choice_id = shown[numbers[0]]
            await _choose(turn, registry, {row.id: [choice_id]})
            return True
        rows = await latest_choice_messages(turn, questions_back=False)
    if not rows:
        return False
    kind = (rows[-1].context or {}).get("kind")
    if kind not in set(ContextKind) or ContextKind(kind) not in registry.choice_handlers:
        return False
    shown = shown_numbers(rows)
    fits = all(number in shown for number in numbers)
    now = turn.services.clock.now()
    prompt = await turn.services.questions.open_prompt(turn.session, turn.member, now)
    if not fits or not await _still_open(turn, rows[-1]):
        if prompt is not None:
            return False  # only an answer fits
        if not fits:
            await turn.say("numbers.range", first=min(shown), last=max(shown))
            return True
    if not (rows[-1].options or {}).get("multi_select"):
        numbers = numbers[-1:]
    numbers = list(dict.fromkeys(numbers))
    picks: dict[int, list[str]] = {}
    for number in numbers:
        row, choice_id = shown[number]
        picks.setdefault(row.id, []).append(choice_id)
    if prompt is None or kind in ASKED_FOR:
        await _choose(turn, registry, picks)
        return True
    await _ask_back(turn, text, numbers, rows, picks, prompt)
    return True


async def _choose(turn: Turn, registry: Registry, picks: dict[int, list[str]]) -> None:
    """Each message's own choice handler, with what was picked on it."""
    for row_id, choice_ids in picks.items():
        row = await turn.session.get(OutboxMessage, row_id)
        kind = (row.context or {}).get("kind") if row is not None else None
        handler = (
            registry.choice_handlers.get(ContextKind(kind)) if kind in set(ContextKind) else None
        )
        if row is not None and handler is not None:
            await handler(turn, row, tuple(choice_ids))


async def _ask_back(
    turn: Turn,
    text: str,
    numbers: list[int],
    rows: list[OutboxMessage],
    picks: dict[int, list[str]],
    prompt: Prompt,
) -> None:
    meeting = await turn.session.get(Meeting, prompt.meeting_id)
    questions = await question_set(turn.session, turn.services.texts, meeting) if meeting else []
    position = next((i for i, q in enumerate(questions, 1) if q.id == prompt.question_id), 0)
    labels = {(row.id, str(c["id"])): str(c["label"]) for row in rows for c in row.choices or []}
    ballot = (rows[-1].context or {}).get("kind") == ContextKind.AGENDA_BALLOT
    shown = ", ".join(str(number) for number in numbers)
    await turn.reply(
        turn.t(
            "numbers.ask",
            typed=shown,
            question=position,
            ballot=ballot,
            several=len(numbers) > 1,
            labels=", ".join(
                labels.get((row_id, choice_id), "")
                for row_id, choice_ids in picks.items()
                for choice_id in choice_ids
            ),
        ),
        choices=(
            Choice(AS_ANSWER, turn.t("numbers.as_answer")),
            Choice(AS_CHOICE, turn.t("numbers.as_vote" if ballot else "numbers.as_choice")),
        ),
        context={
            "kind": ContextKind.NUMBER_MEANING,
            "text": text,
            "message_id": turn.event.message_id,
            "prompt_id": prompt.id,
            # JSON keys are strings: the message's row id → the choice ids picked on it.
            "picks": {str(row_id): choice_ids for row_id, choice_ids in picks.items()},
        },
    )


def register(registry: Registry) -> None:
    async def meaning_chosen(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
        """The member said what their number meant: file it as that."""
        if turn.member is None or turn.community is None or not choice_ids:
            return
        context: dict[str, Any] = dict(row.context or {})
        if context.get("settled"):
            await turn.say("numbers.settled")
            return
        row.context = {**context, "settled": choice_ids[-1]}
        now = turn.services.clock.now()
        if choice_ids[-1] == AS_ANSWER:
            prompt = await turn.session.get(Prompt, int(context.get("prompt_id") or 0))
            if prompt is None or prompt.member_id != turn.member.id:
                return
            if prompt.status not in (PromptStatus.ASKED, PromptStatus.ANSWERED):
                return
            ack = await turn.services.questions.record_reply(
                turn.session,
                turn.community,
                turn.member,
                prompt,
                str(context.get("text", "")),
                turn.event.platform,
                context.get("message_id"),
                now,
            )
            if ack:
                await turn.say(ack)
            return
        # Handled as the number it was typed as, not as a press of this message's button.
        as_typed = MessageReceived(
            turn.event.conversation,
            turn.event.sender,
            turn.event.message_id,
            text=str(context.get("text", "")),
        )
        picks = {int(row_id): list(ids) for row_id, ids in dict(context.get("picks", {})).items()}
        await _choose(replace(turn, event=as_typed), registry, picks)

    registry.on_choice(ContextKind.NUMBER_MEANING, meaning_chosen)
