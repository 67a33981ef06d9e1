"""/questions, /answers, /answer and /brief: the pre-meeting questions."""

from __future__ import annotations

from bot.engine import i18n
from bot.engine.commands.access import require_facilitator
from bot.engine.commands.brief import brief_command
from bot.engine.commands.moderation import moderate
from bot.engine.registry import Registry
from bot.engine.services import filing
from bot.engine.services.filing import Verdict
from bot.engine.services.meetings import next_meeting
from bot.engine.services.questions import (
    QuestionError,
    add_question,
    edit_question,
    move_question,
    question_set,
    question_text,
    questions_out,
    remove_question,
    save_library,
)
from bot.engine.turn import Turn
from storage.models import Meeting
from storage.statuses import ItemKind, ModerationAction


async def questions(turn: Turn, args: str) -> None:
    assert turn.community is not None
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    texts = turn.services.texts
    action, _, rest = args.strip().partition(" ")
    action = action.lower()
    if action in ("save", "reset"):
        if not await require_facilitator(turn, f"/questions {action}"):
            return
        live = await question_set(turn.session, texts, meeting)
        save_library(turn.community, meeting.kind, live if action == "save" else None)
        await turn.say(
            "questions.library_saved" if action == "save" else "questions.library_reset",
            private=True,
            count=len(live),
            community=turn.community.name,
            workshop=meeting.kind == "workshop",
        )
        return
    if action in ("edit", "move"):
        if not await require_facilitator(turn, f"/questions {action}"):
            return
        try:
            if action == "edit":
                await _edit(turn, meeting, rest)
            else:
                await _move(turn, meeting, rest)
        except QuestionError as error:
            await turn.say(
                error.key,
                private=True,
                limit=1000,
                meeting=meeting.title,
                id=meeting.id,
                languages=", ".join(texts.languages),
            )
            return
    elif action in ("add", "remove"):
        if not await require_facilitator(turn, f"/questions {action}"):
            return
        try:
            if action == "add":
                first, _, after = rest.strip().partition(" ")
                if first.lower() in texts.languages and after.strip():
                    await add_question(turn.session, texts, meeting, after, first.lower())
                else:
                    await add_question(turn.session, texts, meeting, rest)
            else:
                if not rest.strip().isdigit():
                    raise QuestionError("questions.usage")
                await remove_question(turn.session, texts, meeting, int(rest), now)
        except QuestionError as error:
            await turn.say(error.key, private=True, limit=1000)
            return
    elif action:
        await turn.say("questions.usage", private=True)
        return
    live = await question_set(turn.session, texts, meeting)
    await turn.say(
        "questions.list",
        private=True,
        meeting=meeting.title,
        id=meeting.id,
        questions=[question_text(texts, q, turn.language) for q in live],
        facilitator=turn.member is not None and turn.member.is_facilitator,
        changed=action,
    )


async def _edit(turn: Turn, meeting: Meeting, rest: str) -> None:
    """``N TEXT`` for everyone, or ``N LANGUAGE TEXT`` for members reading LANGUAGE."""
    number, _, text = rest.strip().partition(" ")
    if not number.isdigit() or not text.strip():
        raise QuestionError("questions.edit_usage")
    language: str | None = None
    first, _, after = text.strip().partition(" ")
    if first.lower() in turn.services.texts.languages and after.strip():
        language, text = first.lower(), after
    question = await edit_question(
        turn.session, turn.services.texts, meeting, int(number), text, language
    )
    if language is not None:
        await turn.say(
            "questions.edited_in",
            private=True,
            number=int(number),
            language=i18n.language_name(language),
            text=question_text(turn.services.texts, question, language),
        )


async def _move(turn: Turn, meeting: Meeting, rest: str) -> None:
    words = rest.split()
    if len(words) != 2 or not all(word.isdigit() for word in words):
        raise QuestionError("questions.move_usage")
    await move_question(turn.session, turn.services.texts, meeting, int(words[0]), int(words[1]))


async def remind(turn: Turn, args: str) -> None:
    """``/remind now``: the reminder at once to members with questions left, once each."""
    assert turn.community is not None
    if args.strip().lower() != "now":
        await turn.say("remind.usage", private=True)
        return
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    if not await questions_out(turn.session, meeting):
        await turn.say("remind.not_out", private=True, meeting=meeting.title, id=meeting.id)
        return
    reminded = await turn.services.questions.remind(turn.session, turn.community, meeting, now)
    await turn.say(
        "remind.sent" if reminded else "remind.nobody",
        private=True,
        meeting=meeting.title,
        id=meeting.id,
        names=reminded,
    )


async def answers(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    meeting = await next_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    rows = await turn.services.questions.answers(turn.session, meeting, turn.member)
    action, _, number = args.strip().partition(" ")
    if action.lower() == "remove":
        # /answers remove N: the member's own answer to question N, gone for good.
        position = int(number) if number.strip().isdigit() else 0
        reply = rows[position - 1][2] if 1 <= position <= len(rows) else None
        if reply is None:
            await turn.say("questions.no_such", private=True)
            return
        await moderate(turn, ModerationAction.REMOVE, ItemKind.ANSWER, reply.id)
        return
    await turn.say(
        "answers.list",
        private=True,
        id=meeting.id,
        meeting=meeting.title,
        rows=[
            (question_text(turn.services.texts, q, turn.language), reply.text if reply else None)
            for q, _prompt, reply in rows
        ],
    )


async def answer(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    number, _, text = args.strip().partition(" ")
    # A skip word or a stray "/" is no answer (see bot.engine.services.filing).
    if (
        not number.isdigit()
        or not text.strip()
        or filing.classify(text) in (Verdict.COMMAND, Verdict.SKIP)
    ):
        await turn.say("answer.usage", private=True)
        return
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    before = await turn.services.questions.answers(turn.session, meeting, turn.member)
    position = int(number)
    old = before[position - 1][2] if 1 <= position <= len(before) else None
    previous = old.text if old is not None else None
    key = await turn.services.questions.answer_by_number(
        turn.session,
        turn.community,
        meeting,
        turn.member,
        int(number),
        text.strip(),
        turn.event.platform,
        now,
    )
    if key in ("questions.saved", "questions.updated"):
        after = await turn.services.questions.answers(turn.session, meeting, turn.member)
        reply = after[position - 1][2]
        assert reply is not None
        await filing.record(
            turn.session, turn.member, ItemKind.ANSWER, reply.id, now, previous=previous
        )
        key = "filing.updated_answer" if old is not None else "filing.saved_answer"
    await turn.say(key, private=True, limit=4000, number=position, total=len(before))


async def brief(turn: Turn, args: str) -> None:
    await brief_command(turn, args)


def register(registry: Registry) -> None:
    registry.command(
        "questions",
        questions,
        usage=(
            "/questions [add [LANGUAGE] TEXT | remove N | edit N [LANGUAGE] TEXT | move N M"
            " | save | reset]"
        ),
    )
    registry.command("remind", remind, usage="/remind now", facilitator_only=True)
    registry.command("answers", answers, usage="/answers [remove N]", group=False)
    registry.command("answer", answer, usage="/answer N TEXT", group=False)
    registry.command("brief", brief, usage="/brief", facilitator_only=True)
