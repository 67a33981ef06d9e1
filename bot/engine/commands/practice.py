"""/practice: share a best practice, list the leaders, upvote one."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from bot.engine.commands.moderation import moderate
from bot.engine.registry import Awaiting, Registry
from bot.engine.services import filing, practices
from bot.engine.services.brief import shown_name
from bot.engine.services.filing import is_skip
from bot.engine.services.practices import PracticeError
from bot.engine.turn import Turn
from storage.models import Meeting
from storage.statuses import ItemKind, ModerationAction

USAGE = "/practice [TEXT | vote N | list | remove N | hide N | restore N]"


async def practice_command(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    now = turn.services.clock.now()
    action, _, rest = args.strip().partition(" ")
    try:
        if not action or action.lower() == "list":
            rows = await practices.scored(turn.session, turn.community)
            await turn.say(
                "practice.list",
                private=True,
                rows=[
                    (
                        s.practice.id,
                        s.practice.text,
                        shown_name(s.author, turn.services.texts, turn.language),
                        s.votes,
                    )
                    for s in rows[:20]
                ],
            )
        elif action.lower() == "vote":
            if not rest.strip().lstrip("#").isdigit():
                raise PracticeError("practice.usage")
            found, new = await practices.upvote(
                turn.session, turn.community, turn.member, int(rest.strip().lstrip("#")), now
            )
            await turn.say(
                "practice.voted" if new else "practice.voted_already", private=True, number=found.id
            )
        elif action.lower() in set(ModerationAction):
            number = rest.strip().lstrip("#")
            if not number.isdigit():
                raise PracticeError("practice.usage")
            await moderate(turn, ModerationAction(action.lower()), ItemKind.PRACTICE, int(number))
        else:
            if is_skip(args):
                raise PracticeError("practice.usage")
            created = await practices.submit(turn.session, turn.community, turn.member, args, now)
            await filing.record(turn.session, turn.member, ItemKind.PRACTICE, created.id, now)
            await turn.say("practice.saved", private=True, number=created.id)
    except PracticeError as error:
        await turn.say(error.key, private=True, **dict(error.values))


def may_take_away(turn: Turn) -> ColumnElement[bool] | bool:
    """Whether :func:`takeaway` may find an ask (for the engine's one query)."""
    if turn.member is None or turn.community is None:
        return False
    return practices.any_open_ask(turn.member, turn.services.clock.now())


async def takeaway(turn: Turn) -> Awaiting | None:
    """A plain reply to "which practice do you take away from the meeting?"."""
    if turn.member is None or turn.community is None:
        return None
    ask = await practices.open_ask(turn.session, turn.member, turn.services.clock.now())
    if ask is None:
        return None

    async def answer(text: str) -> None:
        assert turn.community is not None and turn.member is not None and ask is not None
        meeting = await turn.session.get(Meeting, ask.meeting_id)
        now = turn.services.clock.now()
        try:
            created = await practices.submit(
                turn.session, turn.community, turn.member, text, now, meeting
            )
        except PracticeError as error:
            await turn.say(error.key, **dict(error.values))
            return
        ask.answered_at = now
        await filing.record(turn.session, turn.member, ItemKind.PRACTICE, created.id, now)
        await turn.say("filing.saved_practice", number=created.id)

    return Awaiting(ask.asked_at, answer, ItemKind.PRACTICE)


def register(registry: Registry) -> None:
    registry.command("practice", practice_command, usage=USAGE, aliases=("practices",))
    registry.awaiting(takeaway, may_find=may_take_away)
