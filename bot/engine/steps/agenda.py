"""Agenda steps: proposals open, voting opens, voting closes with the ranking posted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import agenda
from bot.engine.services.messenger import Messenger
from bot.engine.steps.base import MeetingStep, days_before
from storage.models import Community, Meeting
from storage.statuses import RoundStatus


@dataclass(slots=True)
class AgendaOpenStep(MeetingStep):
    messenger: Messenger
    name: str = "agenda-open"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.agenda_open_days_before, settings.send_at)
        voting = days_before(meeting, community, settings.agenda_vote_days_before, settings.send_at)
        return due, max(voting, due)

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        _round, created = await agenda.open_round(session, community, meeting, now)
        if not created:
            return "already open"
        settings = CommunitySettings.of(community.settings)
        sent = await agenda.announce_proposals(
            session, self.messenger, community, meeting, settings
        )
        return f"proposals open, announced {sent} times"


@dataclass(slots=True)
class AgendaVoteStep(MeetingStep):
    messenger: Messenger
    name: str = "agenda-vote"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.agenda_vote_days_before, settings.send_at)
        closing = days_before(
            meeting, community, settings.agenda_close_days_before, settings.send_at
        )
        return due, max(closing, due)

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        settings = CommunitySettings.of(community.settings)
        found = await agenda.round_for(session, meeting)
        if found is not None and found.status != RoundStatus.PROPOSALS:
            return f"already {found.status}"
        await agenda.start_voting(session, self.messenger, community, meeting, settings, now)
        return "voting open"


@dataclass(slots=True)
class AgendaCloseStep(MeetingStep):
    messenger: Messenger
    name: str = "agenda-close"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.agenda_close_days_before, settings.send_at)
        return due, max(meeting.starts_at, due)

    async def run_for(
        self, session: AsyncSession, community: Community, meeting: Meeting, now: datetime
    ) -> str:
        found = await agenda.round_for(session, meeting)
        if found is None or found.status != RoundStatus.VOTING:
            return "nothing to close"
        rows = await agenda.finish(session, self.messenger, community, meeting, found, now)
        return f"ranked {len(rows)} items"
