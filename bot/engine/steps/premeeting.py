"""Pre-meeting steps: questions out, reminder to who has not answered, brief to facilitators.

Each reaches every member (the brief, every facilitator) at ``send_time`` in their own
timezone on its day, out of their quiet hours: members east of the community from a
first run when that hour first comes anywhere, everyone else from the run at the
community's hour (:class:`MemberTimeStep`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services import directory, timing
from bot.engine.services.brief import brief_message
from bot.engine.services.links import Links
from bot.engine.services.messenger import Messenger
from bot.engine.services.questions import QuestionService
from bot.engine.steps.base import MemberTimeStep, days_before
from storage.models import Community, Meeting, Member, OutboxMessage


@dataclass(slots=True)
class QuestionsStep(MemberTimeStep):
    questions: QuestionService
    name: str = "questions"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.questions_days_before, settings.send_at)
        return due, meeting.starts_at

    async def reach(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        only: Callable[[Member], bool] | None,
    ) -> str:
        asked = await self.questions.ask_all(
            session, community, meeting, now, self.local_time(meeting, community), only
        )
        return f"asked {asked} members"


@dataclass(slots=True)
class ReminderStep(MemberTimeStep):
    questions: QuestionService
    name: str = "reminder"

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.reminder_days_before, settings.send_at)
        brief = days_before(meeting, community, settings.brief_days_before, settings.send_at)
        # A reminder after the brief went out would change nothing for the meeting.
        return due, min(max(brief, due + (meeting.starts_at - due) / 2), meeting.starts_at)

    async def reach(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        only: Callable[[Member], bool] | None,
    ) -> str:
        reminded = await self.questions.remind(
            session, community, meeting, now, self.local_time(meeting, community), only
        )
        return f"reminded {len(reminded)} members"


@dataclass(slots=True)
class BriefStep(MemberTimeStep):
    messenger: Messenger
    name: str = "brief"
    # Where a large meeting's brief file is served from (None: sent in the message).
    links: Links | None = None

    def window(
        self, meeting: Meeting, community: Community, settings: CommunitySettings
    ) -> tuple[datetime, datetime]:
        due = days_before(meeting, community, settings.brief_days_before, settings.send_at)
        return due, meeting.starts_at

    async def reach(
        self,
        session: AsyncSession,
        community: Community,
        meeting: Meeting,
        now: datetime,
        only: Callable[[Member], bool] | None,
    ) -> str:
        facilitators = [
            f
            for f in await directory.facilitators(session, community.id)
            if only is None or only(f)
        ]
        keys = {f.id: f"brief:{meeting.id}:{f.id}" for f in facilitators}
        # Those east of the community had theirs from the first run: not made again.
        made = set(
            (
                await session.scalars(
                    select(OutboxMessage.idempotency_key).where(
                        OutboxMessage.idempotency_key.in_(list(keys.values()))
                    )
                )
            ).all()
        )
        sent = 0
        for facilitator in facilitators:
            if keys[facilitator.id] in made:
                continue
            language = self.messenger.language(community, facilitator)
            found = await brief_message(
                session, self.messenger.texts, community, meeting, language, self.links, now
            )
            at = timing.deliver_at(community, facilitator, now, self.local_time(meeting, community))
            envelope = self.messenger.member_envelope(
                community, facilitator, keys[facilitator.id], found.text
            )
            if envelope is None:
                continue
            message = replace(envelope.message, attachment=found.attachment)
            if await self.messenger.outbox.put_one(
                session, replace(envelope, message=message, not_before=at)
            ):
                sent += 1
        return f"brief to {sent} facilitators"
