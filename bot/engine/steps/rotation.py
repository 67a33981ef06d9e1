"""The member-led weekly question: the invitation on ``question_weekday`` at
``question_time``, and Indaba's own question a day later when no member posted one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import rotation
from bot.engine.services.messenger import Messenger
from bot.engine.steps.base import local_instant
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

INVITE = "question-invite"
FALLBACK = "question-fallback"


@dataclass(slots=True)
class WeeklyQuestionStep:
    messenger: Messenger
    name: str = "weekly-question"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        today = now.astimezone(ZoneInfo(community.timezone)).date()
        monday = today - timedelta(days=today.weekday())
        for week in (-1, 0, 1):
            day = monday + timedelta(days=7 * week + settings.question_weekday)
            invite_at = local_instant(day, settings.question_at, community.timezone)
            fallback_at = invite_at + rotation.ANSWER_WITHIN
            label = rotation.week_of(day)
            if week < 0 and fallback_at <= now:
                # Last week is only looked at for a fallback still to come.
                continue
            yield Occurrence(
                f"{INVITE}:{community.id}:{label}",
                self.name,
                community.id,
                invite_at,
                invite_at + timedelta(hours=12),
            )
            yield Occurrence(
                f"{FALLBACK}:{community.id}:{label}",
                self.name,
                community.id,
                fallback_at,
                fallback_at + timedelta(hours=12),
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        kind, _, week = occurrence.key.split(":")
        if kind == INVITE:
            settings = CommunitySettings.of(community.settings)
            return await rotation.invite(
                session, self.messenger, community, week, now, settings.question_decline_weeks
            )
        return await rotation.post_library_question(session, self.messenger, community, week, now)
