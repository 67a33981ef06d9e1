"""/decision and /action: what a meeting decided, and who does what by when."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.engine import i18n
from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Registry
from bot.engine.services import actions
from bot.engine.services.actions import ActionError, OwnedAction, due_text
from bot.engine.services.meetings import latest_meeting
from bot.engine.services.mentions import find_named
from bot.engine.turn import Turn
from storage.models import Community, Meeting, OutboxMessage
from storage.statuses import ActionStatus, ContextKind

# "… by 2026-12-15" (or the date alone) at the end of /action add.
DUE = re.compile(r"(?:\s+by)?\s+(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)


def community_today(community: Community, now: datetime) -> date:
    return i18n.local(now, community, None).date()


async def _meeting(turn: Turn) -> Meeting | None:
    """The meeting being recorded: the one that started last, else the next one."""
    assert turn.community is not None
    found = await latest_meeting(turn.session, turn.community.id, turn.services.clock.now())
    if found is None:
        await turn.say("decision.no_meeting", private=True)
    return found


async def decision(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    meeting = await _meeting(turn)
    if meeting is None:
        return
    if not args.strip():
        recorded = await actions.meeting_decisions(turn.session, meeting.id)
        await turn.say(
            "decision.list",
            private=True,
            id=meeting.id,
            meeting=meeting.title,
            decisions=[d.text for d in recorded],
        )
        return
    if not await require_facilitator(turn, "/decision"):
        return
    try:
        made = await actions.add_decision(
            turn.session, meeting, args, turn.member, turn.services.clock.now()
        )
    except ActionError as error:
        await turn.say(error.key, private=True, limit=actions.MAX_TEXT_LENGTH)
        return
    await turn.say("decision.recorded", id=meeting.id, meeting=meeting.title, text=made.text)


async def _add(turn: Turn, rest: str) -> None:
    assert turn.community is not None and turn.member is not None
    if not await require_facilitator(turn, "/action add"):
        return
    named = await find_named(
        turn.session, turn.community.id, turn.event.platform, rest, first_only=True
    )
    if not named.members:
        if named.unknown:
            await turn.say("action.no_owner", private=True, who=named.unknown[0])
        else:
            await turn.say("action.owner_usage", private=True)
        return
    owner = named.members[0]
    due = DUE.search(named.rest)
    if due is None:
        await turn.say("action.date_usage", private=True)
        return
    try:
        due_on = date.fromisoformat(due.group(1))
    except ValueError:
        await turn.say("action.date_usage", private=True)
        return
    meeting = await _meeting(turn)
    if meeting is None:
        return
    now = turn.services.clock.now()
    text = named.rest[: due.start()]
    try:
        created = await actions.add_action(
            turn.session,
            meeting,
            owner,
            text,
            due_on,
            turn.member,
            now,
            community_today(turn.community, now),
        )
    except ActionError as error:
        await turn.say(error.key, private=True, limit=actions.MAX_TEXT_LENGTH)
        return
    await turn.say(
        "action.added",
        number=created.number,
        owner=owner.display_name,
        text=created.text,
        due=due_text(turn.community, turn.member, due_on, turn.language),
    )
    messenger = turn.services.messenger
    language = messenger.language(turn.community, owner)
    await messenger.to_member(
        turn.session,
        turn.community,
        owner,
        f"action-assigned:{created.id}",
        messenger.texts.render(
            "action.assigned",
            language,
            meeting=meeting.title,
            number=created.number,
            text=created.text,
            due=due_text(turn.community, owner, due_on, language),
        ),
    )


def _listed(turn: Turn, rows: list[OwnedAction]) -> list[dict[str, object]]:
    assert turn.community is not None
    return [
        {
            "number": row.number,
            "text": row.action.text,
            "owner": row.owner.display_name,
            "due": due_text(turn.community, turn.member, row.action.due_on, turn.language),
            "working": row.status is ActionStatus.WORKING,
        }
        for row in rows
    ]


async def _list(turn: Turn) -> None:
    assert turn.community is not None
    await turn.say(
        "action.list",
        private=True,
        open=_listed(turn, await actions.open_actions(turn.session, turn.community.id)),
        done=_listed(turn, await actions.done_actions(turn.session, turn.community.id)),
    )


async def _close(turn: Turn, rest: str, status: ActionStatus) -> None:
    assert turn.community is not None and turn.member is not None
    typed = rest.strip().lstrip("#")
    if not typed.isdigit():
        await turn.say("action.usage", private=True)
        return
    found = await actions.find_action(turn.session, turn.community.id, int(typed))
    if found is None:
        await turn.say("action.no_such", private=True, number=typed)
        return
    if found.owner.id != turn.member.id and not turn.member.is_facilitator:
        await turn.say("action.not_yours", private=True, number=found.number)
        return
    if not found.is_open:
        await turn.say("action.closed_already", private=True, number=found.number)
        return
    now = turn.services.clock.now()
    actions.set_status(found.action, status, now, community_today(turn.community, now))
    await turn.say("action.noted", private=True, status=status.value, number=found.number)


async def action_command(turn: Turn, args: str) -> None:
    word, _, rest = args.strip().partition(" ")
    word = word.lower()
    if word == "add":
        await _add(turn, rest)
    elif word in ("list", ""):
        await _list(turn)
    elif word == "done":
        await _close(turn, rest, ActionStatus.DONE)
    elif word == "drop":
        await _close(turn, rest, ActionStatus.DROPPED)
    else:
        await turn.say("action.usage", private=True)


async def check_answered(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
    """The owner said how their action goes: done, still working or dropped."""
    if turn.community is None or turn.member is None or not choice_ids:
        return
    found = await actions.find_action_by_id(
        turn.session, turn.community.id, int((row.context or {}).get("action_id") or 0)
    )
    if found is None or found.owner.id != turn.member.id:
        return
    try:
        status = ActionStatus(choice_ids[-1])
    except ValueError:
        return
    if not found.is_open:
        await turn.note("action.closed_already", number=found.number)
        return
    now = turn.services.clock.now()
    actions.set_status(found.action, status, now, community_today(turn.community, now))
    await turn.note("action.noted", status=status.value, number=found.number)


def register(registry: Registry) -> None:
    registry.command("decision", decision, usage="/decision [TEXT]")
    registry.command(
        "action", action_command, usage="/action add @member TEXT by YYYY-MM-DD | list | done N"
    )
    registry.on_choice(ContextKind.ACTION_CHECK, check_answered)
