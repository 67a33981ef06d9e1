"""What an operator does to Indaba's data, without running Indaba: the ``indaba`` admin
commands call these, on a database session of their own.

A function that changes data takes the session factory and owns its transaction; one
that only reads takes a session. Nothing here starts an adapter, the timetable's
scheduler or the delivery loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app.settings import Settings
from bot.engine.community_settings import CommunitySettings
from bot.engine.services import brief, costs, harvest, meetings, onboarding
from bot.engine.texts import Texts
from bot.runtime.clock import Clock
from storage.migrate import is_up_to_date
from storage.models import (
    Community,
    InboxEvent,
    Meeting,
    Member,
    OutboxMessage,
    Replica,
    TimetableRun,
)
from storage.statuses import InboxStatus, OutboxStatus

if TYPE_CHECKING:
    from bot.runtime.timetable import Occurrence, Timetable

# Messages the delivery loop gave up on, for an operator to look at and queue again.
PARKED = (OutboxStatus.DEAD, OutboxStatus.UNREACHABLE)


class AdminError(Exception):
    """A request that cannot be honoured; the message is one line for the operator."""


class SettingsOrder(Exception):
    """Settings that would put the timetable's steps out of order: (setting, why)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(why for _, why in problems))
        self.problems = problems


class SchemaBehind(Exception):
    """The database schema is older than this version of Indaba."""


class HarvestFormat(StrEnum):
    MARKDOWN = "md"
    CSV = "csv"
    JSON = "json"


# -- schema --------------------------------------------------------------------------------


async def check_schema(db: AsyncEngine) -> None:
    """Raise :class:`SchemaBehind` unless the schema is at the head revision."""
    up_to_date, current, head = await is_up_to_date(db)
    if not up_to_date:
        raise SchemaBehind(
            f"the database schema is at {current or 'nothing'} but this Indaba needs {head}: "
            "run 'indaba db upgrade' (or start with 'indaba run --migrate')"
        )


# -- communities -----------------------------------------------------------------------


async def _community(session: AsyncSession, name_or_id: str) -> Community:
    community = await onboarding.find_community(session, name_or_id)
    if community is None:
        raise AdminError(f"no community named {name_or_id!r}")
    return community


async def create_community(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    timezone: str,
    language: str,
    now: datetime,
    *,
    setup_days: int,
    join_days: int,
) -> tuple[str, str]:
    """Create a community; return its one-time facilitator code and a member join code.

    Raises:
        OnboardingError: the name is empty or taken, or the timezone is unknown.
    """
    async with sessions() as session, session.begin():
        community = await onboarding.create_community(session, name, timezone, language, now)
        setup = await onboarding.issue_code(
            session, community, onboarding.CodeKind.SETUP, now, timedelta(days=setup_days)
        )
        join = await onboarding.issue_code(
            session, community, onboarding.CodeKind.JOIN, now, timedelta(days=join_days)
        )
    return setup, join


async def communities(session: AsyncSession) -> list[tuple[Community, int]]:
    """Every community with its member count, oldest first."""
    rows = await session.execute(
        select(Community, func.count(Member.id))
        .outerjoin(Member, Member.community_id == Community.id)
        .group_by(Community.id)
        .order_by(Community.id)
    )
    return [(community, count) for community, count in rows.all()]


async def issue_code(
    sessions: async_sessionmaker[AsyncSession],
    name_or_id: str,
    kind: onboarding.CodeKind,
    now: datetime,
    valid_for: timedelta,
) -> str:
    """A new code of ``kind``; a new join code replaces the community's old one."""
    async with sessions() as session, session.begin():
        community = await _community(session, name_or_id)
        return await onboarding.issue_code(
            session, community, kind, now, valid_for, replace=kind is onboarding.CodeKind.JOIN
        )


async def configure_community(
    sessions: async_sessionmaker[AsyncSession],
    name_or_id: str,
    changes: Mapping[str, Any],
    language: str | None = None,
) -> CommunitySettings:
    """Merge ``changes`` into the community's settings and return them, checked.

    Raises:
        pydantic.ValidationError: a changed value is out of range or of the wrong kind;
            nothing is saved then.
        SettingsOrder: the timetable's steps would come out of order (the reminder before
            the questions...); nothing is saved then.
    """
    async with sessions() as session, session.begin():
        community = await _community(session, name_or_id)
        checked = CommunitySettings.of({**(community.settings or {}), **changes})
        problems = checked.order_problems()
        if problems:
            raise SettingsOrder(problems)
        community.settings = checked.model_dump()
        if language:
            community.language = language
        return checked


# -- meetings ----------------------------------------------------------------------------


async def add_meeting(
    sessions: async_sessionmaker[AsyncSession],
    community: str,
    date: str,
    clock_time: str,
    title: str,
    kind: meetings.MeetingKind,
    now: datetime,
) -> Meeting:
    """Plan a meeting at ``date`` ``clock_time`` in the community's timezone.

    Raises:
        MeetingError: the date or time cannot be read, or is in the past.
    """
    async with sessions() as session, session.begin():
        found = await _community(session, community)
        starts_at = meetings.parse_local(found, date, clock_time)
        return await meetings.add_meeting(session, found, starts_at, title, kind, now)


async def upcoming_meetings(session: AsyncSession, now: datetime) -> Sequence[Meeting]:
    return await meetings.upcoming(session, now)


async def export_harvest(
    session: AsyncSession,
    texts: Texts,
    meeting_id: int,
    fmt: HarvestFormat,
    write: Callable[[str], object],
) -> None:
    """Write a meeting's harvest as Markdown, CSV or JSON with ``write``, a page at a time
    (nothing is written for an unknown meeting)."""
    meeting = await session.get(Meeting, meeting_id)
    community = await session.get(Community, meeting.community_id) if meeting else None
    if meeting is None or community is None:
        raise AdminError(f"no meeting with id {meeting_id} (see 'indaba meeting list')")
    chosen = harvest.HarvestFormat(fmt.value)
    async for chunk in harvest.export_chunks(session, texts, community, meeting, chosen):
        write(chunk)


async def export_brief(
    session: AsyncSession, texts: Texts, meeting_id: int, write: Callable[[str], object]
) -> None:
    """Write a meeting's brief file (every answer and name, CSV) with ``write``."""
    meeting = await session.get(Meeting, meeting_id)
    community = await session.get(Community, meeting.community_id) if meeting else None
    if meeting is None or community is None:
        raise AdminError(f"no meeting with id {meeting_id} (see 'indaba meeting list')")
    chunks = brief.csv_chunks(session, texts, community, meeting, community.language)
    async for chunk in chunks:
        write(chunk)


# -- the outbox and the overview ----------------------------------------------------------


async def dead_messages(session: AsyncSession, limit: int = 20) -> Sequence[OutboxMessage]:
    """Dead and unreachable messages, newest first."""
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(PARKED))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return rows.all()


async def retry_messages(
    sessions: async_sessionmaker[AsyncSession], now: datetime, message_id: int | None = None
) -> int:
    """Queue again one dead or unreachable message, or (without an id) every dead one.

    Returns how many were queued.
    """
    statement = update(OutboxMessage).values(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, lease_until=None
    )
    if message_id is not None:
        statement = statement.where(
            OutboxMessage.id == message_id,
            OutboxMessage.status.in_(PARKED),
        )
    else:
        statement = statement.where(OutboxMessage.status == OutboxStatus.DEAD)
    async with sessions() as session, session.begin():
        result = await session.execute(statement.returning(OutboxMessage.id))
        return len(result.all())


def planning_timetable(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> Timetable:
    """Every step of the timetable, to plan with: no adapter, scheduler or delivery."""
    # The engine, its commands and steps are imported here: the other admin commands
    # (an export, a listing) need none of them.
    from bot.engine.commands import build_registry
    from bot.engine.engine import Engine
    from bot.engine.steps import build_steps
    from bot.runtime.metrics import Metrics
    from bot.runtime.outbox import Outbox
    from bot.runtime.timetable import Timetable

    engine = Engine(
        sessions=sessions,
        clock=clock,
        texts=Texts(settings.prompts_dir),
        outbox=Outbox(clock, {}),
        metrics=Metrics(),
        platforms=[],
        registry=build_registry(),
        join_code_days=settings.join_code_days,
    )
    return Timetable(sessions, clock, build_steps(engine), engine.metrics)


async def ran_since(sessions: async_sessionmaker[AsyncSession], since: datetime) -> list[str]:
    """What the timetable did after ``since``, one line a step: what ran (and what it did)
    and what was skipped because its time to be useful had passed."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(TimetableRun, Meeting.title, Community.name)
                .outerjoin(Meeting, Meeting.id == TimetableRun.meeting_id)
                .outerjoin(Community, Community.id == TimetableRun.community_id)
                .where(TimetableRun.ran_at > since)
                .order_by(TimetableRun.due_at, TimetableRun.id)
            )
        ).all()
    lines = []
    for run, title, community in rows:
        what = f"{run.step} of {title!r}" if title else f"{run.step} of {community}"
        due = f"due {run.due_at:%a %d %b %H:%M} UTC"
        if run.outcome == "skipped":
            lines.append(f"skipped {what} ({due}): too late to be useful")
        else:
            lines.append(f"ran {what} ({due}): {run.detail or 'done'}")
    return lines


async def describe(
    sessions: async_sessionmaker[AsyncSession], timetable: Timetable, now: datetime
) -> str:
    """A few lines on communities, the next meetings and steps, and the outbox."""
    async with sessions() as session:
        found = (await session.scalars(select(Community).order_by(Community.id))).all()
        ahead = (
            await session.scalars(
                select(Meeting).where(Meeting.starts_at > now).order_by(Meeting.starts_at)
            )
        ).all()
        depth = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        usage = await costs.month_usage(session, now)
    lines = [f"now: {now:%a %d %b %Y %H:%M} UTC"]
    for community in found:
        lines.append(f"community {community.id}: {community.name} ({community.timezone})")
        cap = CommunitySettings.of(community.settings).monthly_template_cap
        for platform, used in sorted(usage.get(community.id, {}).items()):
            # Re-opening templates are what WhatsApp bills (services.costs).
            billed = f"{used.templates} templates (billed{f', cap {cap}' if cap else ''}), "
            lines.append(
                f"  {platform} in {now:%B}: {billed if used.templates else ''}"
                f"{used.service} other messages"
            )
    for meeting in ahead[:5]:
        lines.append(
            f"meeting {meeting.id}: {meeting.title} at {meeting.starts_at:%Y-%m-%d %H:%M} UTC"
        )
    plan = await timetable.plan(now, horizon=timedelta(days=400))
    # The next occurrence of each step and community: weekly steps would otherwise
    # hide the meeting steps further ahead.
    nexts: dict[tuple[str, int], Occurrence] = {}
    for occurrence in plan:
        nexts.setdefault((occurrence.step, occurrence.community_id), occurrence)
    for occurrence in sorted(nexts.values(), key=lambda o: (o.due_at, o.key))[:12]:
        lines.append(f"next: {occurrence.key} at {occurrence.due_at:%Y-%m-%d %H:%M} UTC")
    lines.append("outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(depth.items())) or "empty"))
    async with sessions() as session:
        waiting = await inbox_depth(session)
        replicas = await live_replicas(session, now)
    lines.append(
        "inbox: " + (", ".join(f"{k} {v}" for k, v in sorted(waiting.items())) or "nothing waiting")
    )
    for replica in replicas:
        leads = f", leads {replica.leads}" if replica.leads else ""
        lines.append(
            f"replica {replica.id}: pid {replica.pid} on {replica.host},"
            f" seen {replica.seen_at:%H:%M:%S} UTC{leads}"
        )
    lines.extend(leaders(replicas))
    return "\n".join(lines)


def leaders(replicas: Sequence[Replica]) -> list[str]:
    """Who leads what among the live replicas: the timetable always named (nobody
    leading it means no step runs), each other role (a platform's polling) when led."""
    led = {role: r.id for r in replicas for role in r.leads.split(",") if role}
    return [
        f"{role}: led by replica {led[role]}"
        if role in led
        else f"{role}: no live replica leads it"
        for role in sorted({"timetable", *led})
    ]


# -- the inbox and the replicas ---------------------------------------------------------------


async def inbox_depth(session: AsyncSession) -> dict[str, int]:
    """Inbound events not handled yet (pending, handling) and dead ones, by status."""
    rows = await session.execute(
        select(InboxEvent.status, func.count())
        .where(InboxEvent.status != InboxStatus.DONE)
        .group_by(InboxEvent.status)
    )
    return {str(status): int(count) for status, count in rows.all()}


async def dead_events(session: AsyncSession, limit: int = 20) -> Sequence[InboxEvent]:
    """Inbound events parked as dead, newest first."""
    rows = await session.scalars(
        select(InboxEvent)
        .where(InboxEvent.status == InboxStatus.DEAD)
        .order_by(InboxEvent.id.desc())
        .limit(limit)
    )
    return rows.all()


async def retry_events(
    sessions: async_sessionmaker[AsyncSession], now: datetime, event_id: int | None = None
) -> int:
    """Queue again one dead inbound event, or every dead one; returns how many."""
    statement = update(InboxEvent).values(
        status=InboxStatus.PENDING, attempts=0, next_attempt_at=now, lease_until=None
    )
    statement = statement.where(InboxEvent.status == InboxStatus.DEAD)
    if event_id is not None:
        statement = statement.where(InboxEvent.id == event_id)
    async with sessions() as session, session.begin():
        result = await session.execute(statement.returning(InboxEvent.id))
        return len(result.all())


async def live_replicas(session: AsyncSession, now: datetime) -> Sequence[Replica]:
    """The ``indaba run`` processes seen in the last two minutes."""
    rows = await session.scalars(
        select(Replica).where(Replica.seen_at > now - timedelta(minutes=2)).order_by(Replica.id)
    )
    return rows.all()
