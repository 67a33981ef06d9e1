"""What the engine's timetable steps share: local times and the once-per-meeting step."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import timing
from bot.engine.services.timing import LocalTime
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting, Member

# The key's suffix of a member-time step's run for the members east of the community.
EAST = "east"


def local_instant(day: date, at: time, timezone: str) -> datetime:
    """``at`` o'clock on ``day`` in ``timezone``, as UTC."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def days_before(meeting: Meeting, community: Community, days: int, at: time) -> datetime:
    local_day = meeting.starts_at.astimezone(ZoneInfo(community.timezone)).date()
    return local_instant(local_day - timedelta(days=days), at, community.timezone)


def _local(due: datetime, expires: datetime, timezone: str) -> LocalTime:
    """The day and hour ``due`` is in ``timezone``, as a step's local time."""
    local = due.astimezone(ZoneInfo(timezone))
    return LocalTime(local.date(), local.time(), expires)


async def live_meeting(session: AsyncSession, occurrence: Occurrence) -> Meeting | None:
    """The meeting an occurrence belongs to, unless it was deleted or cancelled since."""
    if occurrence.meeting_id is None:
        return None
    meeting = await session.get(Meeting, occurrence.meeting_id)
    return None if meeting is None or meeting.cancelled_at is not None else meeting


class MeetingStep:
    """A step that happens once per meeting, keyed ``<name>:<meeting id>``.

    A subclass says when it runs (``window``: due, and no longer useful after) and what
    it does (``run_for``); the loop over meetings and the lookup of a meeting that may
    have been cancelled since are here once.
    """

    name: str

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        raise NotImplementedError

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        raise NotImplementedError

    def local_time(self, meeting: Meeting, community: Community) -> LocalTime:
        """The step's day and hour, for each member in their own timezone: the day it is
        due in the community's timezone, at the same hour, while the step is useful."""
        due, expires = self.window(meeting, community, CommunitySettings.of(community.settings))
        return _local(due, expires, community.timezone)

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        for meeting in meetings:
            due, expires = self.window(meeting, community, settings)
            yield Occurrence(
                f"{self.name}:{meeting.id}", self.name, community.id, due, expires, meeting.id
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        return await self.run_for(session, community, meeting, now)


class MemberTimeStep(MeetingStep):
    """A once-per-meeting step whose direct messages reach each member at the step's
    hour in their own timezone (questions, reminder, brief).

    It runs twice. ``<name>:<meeting id>:east`` comes due when the hour first comes
    anywhere (:func:`timing.first_comes`) and reaches the members east of the community,
    whose hour comes before the community's: each DM waits for its member's hour. Then
    ``<name>:<meeting id>`` comes due at the community's hour, as the step always did,
    for everyone else (a member west of it waiting for their hour): what most members
    get is made then, with every answer given so far, and the keys other parts read to
    know the step ran (``questions:<id>``, ``brief:<id>``) keep their meaning. Each run
    is recorded under its key; what the first sent, the second does not send again.
    """

    async def reach(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        only: Callable[[Member], bool] | None,
    ) -> str:
        """Do the step for the members ``only`` accepts (every member when None)."""
        raise NotImplementedError

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        return await self.reach(session, community, meeting, now, None)

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        for meeting in meetings:
            due, expires = self.window(meeting, community, settings)
            early = timing.first_comes(_local(due, expires, community.timezone))
            key = f"{self.name}:{meeting.id}"
            if early < due:
                yield Occurrence(
                    f"{key}:{EAST}", self.name, community.id, early, expires, meeting.id
                )
            yield Occurrence(key, self.name, community.id, due, expires, meeting.id)

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        if not occurrence.key.endswith(f":{EAST}"):
            return await MeetingStep.run(self, session, community, occurrence, now)
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        step = self.local_time(meeting, community)

        def east(member: Member) -> bool:
            return timing.east_of_community(community, member, step)

        return await self.reach(session, community, meeting, now, east)
