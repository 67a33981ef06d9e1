"""A demo community for the console, so a newcomer has something to explore at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.services import directory, onboarding
from bot.engine.services.meetings import MeetingKind, add_meeting, parse_local
from bot.messages import Sender
from bot.runtime.clock import Clock
from storage.models import Community, Space

DEMO_NAME = "Demo CoP"
DEMO_GROUP = "#demo"
DEMO_FACILITATOR = "fatima"
DEMO_MEMBERS = ("amina", "kwame", "thandi")


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, platform: str = "console"
) -> bool:
    """Create the demo community when the database has no community at all."""
    async with sessions() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(Community)):
            return False
        now = clock.now()
        community = await onboarding.create_community(
            session, DEMO_NAME, "Africa/Nairobi", "en", now
        )
        session.add(
            Space(
                community_id=community.id,
                platform=platform,
                conversation_id=DEMO_GROUP,
                kind="group",
                title=DEMO_GROUP,
                linked_at=now,
            )
        )
        await directory.register(
            session,
            community,
            Sender(platform, DEMO_FACILITATOR, DEMO_FACILITATOR.capitalize()),
            now,
            role="facilitator",
        )
        for name in DEMO_MEMBERS:
            await directory.register(
                session, community, Sender(platform, name, name.capitalize()), now
            )
        day = (
            (now + timedelta(days=10))
            .astimezone(parse_local(community, "2000-01-01", "00:00").tzinfo)
            .date()
        )
        await add_meeting(
            session,
            community,
            parse_local(community, day.isoformat(), "14:00"),
            "Monthly meeting",
            MeetingKind.MEETING,
            now,
        )
    return True
