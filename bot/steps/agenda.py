"""Agenda steps: proposals open, voting opens, voting closes with the ranking posted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.community_settings import CommunitySettings
from bot.services import agenda
from bot.services.messenger import Messenger
from bot.timetable import Occurrence, days_before, live_meeting
from storage.models import Community, Meeting


@dataclass(slots=True)
class AgendaOpenStep:
    messenger: Messenger
    name: str = "agenda-open"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(
                meeting, community, settings.agenda_open_days_before, settings.send_at
            )
            voting = days_before(
                meeting, community, settings.agenda_vote_days_before, settings.send_at
            )
            yield Occurrence(
                f"agenda-open:{meeting.id}",
                self.name,
                community.id,
                due,
                max(voting, due),
                meeting.id,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        _round, created = await agenda.open_round(session, community, meeting, now)
        if not created:
            return "already open"
        settings = CommunitySettings.of(community.settings)
        sent = await agenda.announce_proposals(
            session, self.messenger, community, meeting, settings
        )
        return f"proposals open, announced {sent} times"


@dataclass(slots=True)
class AgendaVoteStep:
    messenger: Messenger
    name: str = "agenda-vote"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(
                meeting, community, settings.agenda_vote_days_before, settings.send_at
            )
            closing = days_before(
                meeting, community, settings.agenda_close_days_before, settings.send_at
            )
            yield Occurrence(
                f"agenda-vote:{meeting.id}",
                self.name,
                community.id,
                due,
                max(closing, due),
                meeting.id,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        settings = CommunitySettings.of(community.settings)
        found = await agenda.round_for(session, meeting)
        if found is not None and found.status != "proposals":
            return f"already {found.status}"
        await agenda.start_voting(session, self.messenger, community, meeting, settings, now)
        return "voting open"


@dataclass(slots=True)
class AgendaCloseStep:
    messenger: Messenger
    name: str = "agenda-close"

    def occurrences(
        self,
        community: Community,
        settings: CommunitySettings,
        meetings: Sequence[Meeting],
        now: datetime,
    ) -> Iterable[Occurrence]:
        for meeting in meetings:
            due = days_before(
                meeting, community, settings.agenda_close_days_before, settings.send_at
            )
            yield Occurrence(
                f"agenda-close:{meeting.id}",
                self.name,
                community.id,
                due,
                max(meeting.starts_at, due),
                meeting.id,
            )

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        meeting = await live_meeting(session, occurrence)
        if meeting is None:
            return "meeting gone"
        found = await agenda.round_for(session, meeting)
        if found is None or found.status != "voting":
            return "nothing to close"
        rows = await agenda.finish(session, self.messenger, community, meeting, found, now)
        return f"ranked {len(rows)} items"
