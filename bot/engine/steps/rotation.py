"""The member-led weekly question: the invitation on ``question_weekday`` at
``question_time``, and Indaba's own question a day later when no member posted one.

The invitation reaches the member at ``question_time`` in their own timezone: the step
runs when that hour first comes anywhere (:func:`timing.first_comes`). Indaba's own
question keeps the community's hour (a day after the invitation there), its direct
messages waiting for each member's hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import rotation, timing
from bot.engine.services.messenger import Messenger
from bot.engine.services.timing import LocalTime
from bot.runtime.timetable import Occurrence
from storage.models import Community, Meeting

INVITE = "question-invite"
FALLBACK = "question-fallback"
USEFUL_FOR = timedelta(hours=12)


@dataclass(slots=True)
class WeeklyQuestionStep:
    messenger: Messenger
    name: str = "weekly-question"

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        settings = CommunitySettings.of(community.settings)
        zone = ZoneInfo(community.timezone)
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        for week in (-1, 0, 1):
            day = monday + timedelta(days=7 * week + settings.question_weekday)
            invite = LocalTime(day, settings.question_at, now)
            invite_at = timing.in_community(community, invite)
            fallback_at = invite_at + rotation.ANSWER_WITHIN
            label = rotation.week_of(day)
            if week < 0 and fallback_at <= now:
                # Last week is only looked at for a fallback still to come.
                continue
            yield Occurrence(
                f"{INVITE}:{community.id}:{label}",
                self.name,
                community.id,
                timing.first_comes(invite),
                invite_at + USEFUL_FOR,
            )
            yield Occurrence(
                f"{FALLBACK}:{community.id}:{label}",
                self.name,
                community.id,
                fallback_at,
                fallback_at + USEFUL_FOR,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        kind, _, week = occurrence.key.split(":")
        if kind == INVITE:
            settings = CommunitySettings.of(community.settings)
            return await rotation.invite(
                session,
                self.messenger,
                community,
                week,
                now,
                settings.question_decline_weeks,
                timing.step_of(occurrence.due_at, occurrence.expires_at),
            )
        local = occurrence.due_at.astimezone(ZoneInfo(community.timezone))
        step = LocalTime(local.date(), local.time().replace(tzinfo=None), occurrence.expires_at)
        return await rotation.post_library_question(
            session, self.messenger, community, week, now, step
        )
