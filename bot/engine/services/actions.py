"""Decisions a meeting took and actions members took on, followed up until done.

An action has an owner and a due date. On the due date the owner is asked how it
goes (done / still working / dropped); "still working" asks again a week later.
Actions are numbered per community, and a number never changes once given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.services import timing
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.engine.texts import Texts
from bot.messages import Choice
from storage.models import Action, Community, Decision, Meeting, Member
from storage.statuses import ActionStatus, ContextKind

MAX_TEXT_LENGTH = 1000
# "Still working" asks again this long after.
FOLLOW_UP_AFTER = timedelta(days=7)
OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.WORKING)


class ActionError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class OwnedAction:
    """An action with the member who owns it."""

    action: Action
    owner: Member

    @property
    def number(self) -> int:
        return self.action.number

    @property
    def status(self) -> ActionStatus:
        return ActionStatus(self.action.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


# -- reading --------------------------------------------------------------------------


async def meeting_decisions(session: AsyncSession, meeting_id: int) -> list[Decision]:
    """The decisions recorded for a meeting, in the order they were taken."""
    rows = await session.scalars(
        select(Decision).where(Decision.meeting_id == meeting_id).order_by(Decision.id)
    )
    return list(rows.all())


async def _owned(session: AsyncSession, *where: object) -> list[OwnedAction]:
    rows = await session.execute(
        select(Action, Member)
        .join(Member, Member.id == Action.owner_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Action.number)
    )
    return [OwnedAction(action, owner) for action, owner in rows]


async def meeting_actions(session: AsyncSession, meeting_id: int) -> list[OwnedAction]:
    """Every action recorded at a meeting, whatever its status, by number."""
    return await _owned(session, Action.meeting_id == meeting_id)


async def open_actions(session: AsyncSession, community_id: int) -> list[OwnedAction]:
    """The community's actions not yet done or dropped (open or still working), by number."""
    return await _owned(
        session, Action.community_id == community_id, Action.status.in_(OPEN_STATUSES)
    )


async def done_actions(
    session: AsyncSession, community_id: int, since: datetime | None = None
) -> list[OwnedAction]:
    """The community's actions marked done (since ``since`` when given), by number."""
    where = [Action.community_id == community_id, Action.status == ActionStatus.DONE]
    if since is not None:
        where.append(Action.status_at >= since)
    return await _owned(session, *where)


async def find_action_by_id(
    session: AsyncSession, community_id: int, action_id: int
) -> OwnedAction | None:
    found = await _owned(session, Action.community_id == community_id, Action.id == action_id)
    return found[0] if found else None


async def find_action(session: AsyncSession, community_id: int, number: int) -> OwnedAction | None:
    found = await _owned(session, Action.community_id == community_id, Action.number == number)
    return found[0] if found else None


# -- writing --------------------------------------------------------------------------


def _clean(text: str, usage: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ActionError(usage)
    if len(text) > MAX_TEXT_LENGTH:
        raise ActionError("error.too_long")
    return text


async def add_decision(
    session: AsyncSession, meeting: Meeting, text: str, by: Member, now: datetime
) -> Decision:
    decision = Decision(
        community_id=meeting.community_id,
        meeting_id=meeting.id,
        text=_clean(text, "decision.usage"),
        created_by_id=by.id,
        created_at=now,
    )
    session.add(decision)
    await session.flush()
    return decision


async def add_action(
    session: AsyncSession,
    meeting: Meeting,
    owner: Member,
    text: str,
    due_on: date,
    by: Member,
    now: datetime,
    today: date,
) -> Action:
    """Record an action; its owner is asked on ``due_on`` (``today`` is the community's)."""
    if due_on < today:
        raise ActionError("action.due_past")
    last = await session.scalar(
        select(func.max(Action.number)).where(Action.community_id == meeting.community_id)
    )
    action = Action(
        community_id=meeting.community_id,
        meeting_id=meeting.id,
        number=(last or 0) + 1,
        text=_clean(text, "action.usage"),
        owner_id=owner.id,
        due_on=due_on,
        status=ActionStatus.OPEN,
        created_by_id=by.id,
        created_at=now,
        check_on=due_on,
    )
    session.add(action)
    await session.flush()
    return action


def set_status(action: Action, status: ActionStatus, now: datetime, today: date) -> None:
    """The owner's (or a facilitator's) answer: done and dropped end the follow-up,
    still working asks again a week from ``today``."""
    action.status = status.value
    action.status_at = now
    action.check_on = today + FOLLOW_UP_AFTER if status is ActionStatus.WORKING else None


async def due_for_check(
    session: AsyncSession, community_id: int, today: date
) -> Sequence[OwnedAction]:
    """Open or still-working actions whose owner is to be asked on or before ``today``."""
    return await _owned(
        session,
        Action.community_id == community_id,
        Action.status.in_(OPEN_STATUSES),
        Action.check_on.is_not(None),
        Action.check_on <= today,
    )


def due_text(community: Community, member: Member | None, due: date, language: str) -> str:
    """A due date as the member reads dates (at noon, so no timezone moves its day)."""
    moment = datetime.combine(due, time(12), tzinfo=i18n.zone_of(community, member))
    return i18n.format_date(moment, language, year=True)


async def ask_owners(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    now: datetime,
    today: date,
    step: LocalTime | None = None,
) -> int:
    """Ask the owner of each action due by ``today`` (or a week after "still working")
    how it goes, with done / still working / dropped as choices. Until they answer,
    they are asked again a week later. Returns how many were asked."""
    asked = 0
    texts = messenger.texts
    for row in await due_for_check(session, community.id, today):
        action, owner = row.action, row.owner
        follow_up = action.checked_at is not None
        action.checked_at = now
        action.check_on = today + FOLLOW_UP_AFTER
        if owner.opted_out:
            continue
        language = messenger.language(community, owner)
        text = texts.render(
            "action.follow_up" if follow_up else "action.check",
            language,
            number=action.number,
            text=action.text,
            due=due_text(community, owner, action.due_on, language),
        )
        choices = tuple(
            Choice(status.value, texts.render(f"action.choice_{status.value}", language))
            for status in (ActionStatus.DONE, ActionStatus.WORKING, ActionStatus.DROPPED)
        )
        if await messenger.to_member(
            session,
            community,
            owner,
            f"action-check:{action.id}:{today.isoformat()}",
            text,
            choices=choices,
            context={"kind": ContextKind.ACTION_CHECK.value, "action_id": action.id},
            not_before=timing.deliver_at(community, owner, now, step),
        ):
            asked += 1
    await session.flush()
    return asked


async def follow_up_text(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    member: Member | None,
    language: str,
    since: datetime | None,
) -> str:
    """The actions to follow up, as shown beside the next meeting's agenda proposals:
    those still open, and those done since ``since`` (the last meeting); "" when none."""
    still_open = await open_actions(session, community.id)
    done = await done_actions(session, community.id, since)
    if not still_open and not done:
        return ""

    def listed(rows: list[OwnedAction]) -> list[dict[str, object]]:
        return [
            {
                "number": row.number,
                "text": row.action.text,
                "owner": row.owner.display_name,
                "due": due_text(community, member or row.owner, row.action.due_on, language),
                "working": row.status is ActionStatus.WORKING,
            }
            for row in rows
        ]

    return texts.render(
        "action.follow_up_list", language, open=listed(still_open), done=listed(done)
    )
