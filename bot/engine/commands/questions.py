"""/questions, /answers, /answer and /brief: the pre-meeting questions."""

from __future__ import annotations

from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Registry
from bot.engine.services.brief import brief_text
from bot.engine.services.meetings import next_meeting
from bot.engine.services.questions import (
    QuestionError,
    add_question,
    question_set,
    question_text,
    remove_question,
)
from bot.engine.turn import Turn


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
    if action in ("add", "remove"):
        if not await require_facilitator(turn, f"/questions {action}"):
            return
        try:
            if action == "add":
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
        questions=[question_text(texts, q, turn.language) for q in live],
        facilitator=turn.member is not None and turn.member.is_facilitator,
        changed=action,
    )


async def answers(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    meeting = await next_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    rows = await turn.services.questions.answers(turn.session, meeting, turn.member)
    await turn.say(
        "answers.list",
        private=True,
        meeting=meeting.title,
        rows=[
            (question_text(turn.services.texts, q, turn.language), reply.text if reply else None)
            for q, _prompt, reply in rows
        ],
    )


async def answer(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    number, _, text = args.strip().partition(" ")
    if not number.isdigit() or not text.strip():
        await turn.say("answer.usage", private=True)
        return
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
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
    await turn.say(key, private=True, limit=4000)


async def brief(turn: Turn, args: str) -> None:
    assert turn.community is not None
    meeting = await next_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    text = await brief_text(
        turn.session, turn.services.texts, turn.community, meeting, turn.language
    )
    await turn.reply(text, private=True)


def register(registry: Registry) -> None:
    registry.command("questions", questions, usage="/questions [add TEXT | remove N]")
    registry.command("answers", answers, usage="/answers", group=False)
    registry.command("answer", answer, usage="/answer N TEXT", group=False)
    registry.command("brief", brief, usage="/brief", facilitator_only=True)
