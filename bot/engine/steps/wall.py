"""Invite every member to refresh their wall entry before each workshop and at least
every ``wall_refresh_days``.

Each member is asked at ``send_time`` in their own timezone, out of their quiet hours:
the step runs when that hour first comes anywhere (:func:`timing.first_comes`) and each
invitation waits for its member's hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import directory, timing, wall
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

# How long a cycle's invitation stays worth sending.
CYCLE_USEFUL_FOR = timedelta(days=7)


@dataclass(slots=True)
class WallRefreshStep:
    messenger: Messenger
    name: str = "wall-refresh"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        zone = ZoneInfo(community.timezone)
        days = settings.wall_refresh_days_before_workshop
        if days:
            for meeting in meetings:
                if meeting.kind != "workshop":
                    continue
                day = meeting.starts_at.astimezone(zone).date() - timedelta(days=days)
                step = LocalTime(day, settings.send_at, now)
                due = timing.in_community(community, step)
                yield Occurrence(
                    f"wall-refresh:{meeting.id}",
                    self.name,
                    community.id,
                    timing.first_comes(step),
                    max(due, meeting.starts_at),
                    meeting.id,
                )
        if settings.wall_refresh_days:
            # Counted from the community's creation, so the cadence survives restarts; on
            # the day a cycle comes, at send_time.
            period = timedelta(days=settings.wall_refresh_days)
            n = max(1, int((now - community.created_at) / period))
            for index in (n, n + 1):
                day = (community.created_at + period * index).astimezone(zone).date()
                step = LocalTime(day, settings.send_at, now)
                due = timing.in_community(community, step)
                yield Occurrence(
                    f"wall-refresh:{community.id}:cycle{index}",
                    self.name,
                    community.id,
                    timing.first_comes(step),
                    due + CYCLE_USEFUL_FOR,
                )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        step = timing.step_of(occurrence.due_at, occurrence.expires_at)
        invited = 0
        for member in await directory.active_members(session, community.id):
            if await wall.start_conversation(
                session,
                self.messenger,
                community,
                member,
                now,
                f"{occurrence.key}:{member.id}",
                refresh=True,
                at=timing.deliver_at(community, member, now, step),
            ):
                invited += 1
        return f"invited {invited} members to refresh the wall"
