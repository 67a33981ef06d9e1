"""The weekly digest, once per community per ISO week, skipped when nothing is new.

It reaches each member at ``digest_time`` in their own timezone: the step runs when that
hour first comes anywhere (:func:`timing.first_comes`), the groups get it at the hour in
the community's timezone, and each member reached by DM at the hour in theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import timing
from bot.engine.services.digest import build_digest, render_digest
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

# How long after its hour (in the community's timezone) a digest is still worth sending.
USEFUL_FOR = timedelta(hours=12)


@dataclass(slots=True)
class DigestStep:
    messenger: Messenger
    name: str = "digest"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        today = now.astimezone(ZoneInfo(community.timezone)).date()
        monday = today - timedelta(days=today.weekday())
        for week in (0, 1):
            day = monday + timedelta(days=7 * week + settings.digest_weekday)
            step = LocalTime(day, settings.digest_at, now)
            until = timing.in_community(community, step) + USEFUL_FOR
            year, number, _ = day.isocalendar()
            yield Occurrence(
                f"digest:{community.id}:{year}-W{number:02d}",
                self.name,
                community.id,
                timing.first_comes(step),
                until,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        # The week before the digest was due, whenever it actually runs.
        digest = await build_digest(
            session, self.messenger.texts, community, now, occurrence.due_at - timedelta(days=7)
        )
        if digest.empty:
            return "nothing new: no digest"
        sent = await self.messenger.to_community(
            session,
            community,
            occurrence.key,
            render_digest(self.messenger.texts, community, digest),
            at=(timing.step_of(occurrence.due_at, occurrence.expires_at), now),
        )
        return f"digest posted {sent} times"
