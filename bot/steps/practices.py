"""After each meeting, every member is asked for the one practice they take away."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.community_settings import CommunitySettings
from bot.services import practices
from bot.services.messenger import Messenger
from bot.timetable import Occurrence, live_meeting
from storage.models import Community, Meeting


@dataclass(slots=True)
class TakeawayStep:
    messenger: Messenger
    name: str = "practice-ask"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = meeting.starts_at + timedelta(hours=settings.practice_ask_hours_after)
            yield Occurrence(
                f"practice-ask:{meeting.id}",
                self.name,
                community.id,
                due,
                due + timedelta(days=2),
                meeting.id,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        asked = await practices.ask_takeaways(session, self.messenger, community, meeting, now)
        return f"asked {asked} members for their take-away"
