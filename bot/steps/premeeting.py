"""Pre-meeting steps: questions out, reminder to who has not answered, brief to facilitators."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.community_settings import CommunitySettings
from bot.services import directory
from bot.services.brief import brief_text
from bot.services.messenger import Messenger
from bot.services.questions import QuestionService
from bot.timetable import Occurrence, days_before, live_meeting
from storage.models import Community, Meeting


@dataclass(slots=True)
class QuestionsStep:
    questions: QuestionService
    name: str = "questions"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(meeting, community, settings.questions_days_before, settings.send_at)
            yield Occurrence(
                f"questions:{meeting.id}",
                self.name,
                community.id,
                due,
                meeting.starts_at,
                meeting.id,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        asked = await self.questions.ask_all(session, community, meeting, now)
        return f"asked {asked} members"


@dataclass(slots=True)
class ReminderStep:
    questions: QuestionService
    name: str = "reminder"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(meeting, community, settings.reminder_days_before, settings.send_at)
            brief = days_before(meeting, community, settings.brief_days_before, settings.send_at)
            # A reminder after the brief went out would change nothing for the meeting.
            expires = min(max(brief, due + (meeting.starts_at - due) / 2), meeting.starts_at)
            yield Occurrence(
                f"reminder:{meeting.id}", self.name, community.id, due, expires, meeting.id
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        reminded = await self.questions.remind(session, community, meeting, now)
        return f"reminded {reminded} members"


@dataclass(slots=True)
class BriefStep:
    messenger: Messenger
    name: str = "brief"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(meeting, community, settings.brief_days_before, settings.send_at)
            yield Occurrence(
                f"brief:{meeting.id}", self.name, community.id, due, meeting.starts_at, meeting.id
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        sent = 0
        for facilitator in await directory.facilitators(session, community.id):
            language = self.messenger.language(community, facilitator)
            text = await brief_text(session, self.messenger.texts, community, meeting, language)
            if await self.messenger.to_member(
                session, community, facilitator, f"brief:{meeting.id}:{facilitator.id}", text
            ):
                sent += 1
        return f"brief to {sent} facilitators"
