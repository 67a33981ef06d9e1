"""After each meeting, every member is asked for the one practice they take away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import practices
from bot.engine.services.messenger import Messenger
from bot.engine.steps.base import MeetingStep
from storage.models import Community, Meeting


@dataclass(slots=True)
class TakeawayStep(MeetingStep):
    messenger: Messenger
    name: str = "practice-ask"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = meeting.starts_at + timedelta(hours=settings.practice_ask_hours_after)
        return due, due + timedelta(days=2)

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        asked = await practices.ask_takeaways(session, self.messenger, community, meeting, now)
        return f"asked {asked} members for their take-away"
