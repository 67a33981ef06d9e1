"""Every day, owners of actions due that day (or a week after "still working") are asked
how it goes, at the community's sending hour in each owner's own timezone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import actions
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.engine.steps.base import local_instant
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

# A day's question is still worth asking until the end of that day.
USEFUL_FOR = timedelta(hours=12)


@dataclass(slots=True)
class ActionCheckStep:
    messenger: Messenger
    name: str = "action-check"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        today = now.astimezone(ZoneInfo(community.timezone)).date()
        for offset in (0, 1):
            day = today + timedelta(days=offset)
            due = local_instant(day, settings.send_at, community.timezone)
            if due < community.created_at:
                continue
            yield Occurrence(
                f"action-check:{community.id}:{day.isoformat()}",
                self.name,
                community.id,
                due,
                due + USEFUL_FOR,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        zone = ZoneInfo(community.timezone)
        local = occurrence.due_at.astimezone(zone)
        step = LocalTime(local.date(), local.time(), occurrence.expires_at)
        asked = await actions.ask_owners(
            session, self.messenger, community, now, local.date(), step
        )
        return f"asked {asked} action owners"
