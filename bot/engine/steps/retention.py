"""Retention: every night, what a community's settings say is past keeping is pruned.

Pruning happens here and nowhere else (see :func:`bot.engine.services.privacy.prune`),
once per community per local night, between ``PRUNE_AT`` and ``PRUNE_UNTIL``. A night
missed while Indaba was down is skipped, not caught up in the day: the next night makes
up for it, since what is pruned is chosen by age.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import privacy
from bot.engine.steps.base import local_instant
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

# A quiet hour, community time, and how long after it a late run is still made.
PRUNE_AT = time(3, 0)
PRUNE_WINDOW = timedelta(hours=3)


@dataclass(slots=True)
class RetentionStep:
    name: str = "retention"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        today = now.astimezone(ZoneInfo(community.timezone)).date()
        for offset in (0, 1):
            day = today + timedelta(days=offset)
            due = local_instant(day, PRUNE_AT, community.timezone)
            if due < community.created_at:
                continue  # nothing to prune before the community existed
            yield Occurrence(
                f"retention:{community.id}:{day.isoformat()}",
                self.name,
                community.id,
                due,
                due + PRUNE_WINDOW,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        return (await privacy.prune(session, community, now)).describe()
