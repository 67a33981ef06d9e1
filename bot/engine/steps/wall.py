"""Invite every member to refresh their wall entry before each workshop and at least
every ``wall_refresh_days``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import directory, wall
from bot.engine.services.messenger import Messenger
from bot.engine.steps.base import days_before
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting


@dataclass(slots=True)
class WallRefreshStep:
    messenger: Messenger
    name: str = "wall-refresh"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        days = settings.wall_refresh_days_before_workshop
        if days:
            for meeting in meetings:
                if meeting.kind != "workshop":
                    continue
                due = days_before(meeting, community, days, settings.send_at)
                yield Occurrence(
                    f"wall-refresh:{meeting.id}",
                    self.name,
                    community.id,
                    due,
                    max(due, meeting.starts_at),
                    meeting.id,
                )
        if settings.wall_refresh_days:
            # Counted from the community's creation, so the cadence survives restarts.
            period = timedelta(days=settings.wall_refresh_days)
            n = max(1, int((now - community.created_at) / period))
            for index in (n, n + 1):
                due = community.created_at + period * index
                yield Occurrence(
                    f"wall-refresh:{community.id}:cycle{index}",
                    self.name,
                    community.id,
                    due,
                    due + timedelta(days=7),
                )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
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
            ):
                invited += 1
        return f"invited {invited} members to refresh the wall"
