"""Seeding many members at once for the benchmarks (bulk inserts, not one by one), and
the meeting they are asked about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import meetings
from storage.bulk import insert_ignore
from storage.models import Community, Identity, Meeting, Member


async def bench_meeting(session: AsyncSession, community: Community, now: datetime) -> Meeting:
    """A monthly meeting five days from ``now``: its questions are due at once."""
    return await meetings.add_meeting(
        session,
        community,
        now + timedelta(days=5),
        "Bench meeting",
        meetings.MeetingKind.MEETING,
        now,
    )


async def add_members(
    session: AsyncSession,
    community: Community,
    count: int,
    platform: str,
    user_id: Callable[[int], str],
    now: datetime,
    last_inbound: datetime | None = None,
) -> list[int]:
    """``count`` members of ``community``, each with one identity; returns their ids in order."""
    ids = await insert_ignore(
        session,
        Member,
        [
            {
                "community_id": community.id,
                "display_name": f"Member {i}",
                "role": "member",
                "opted_out": False,
                "anonymous": False,
                "joined_at": now,
            }
            for i in range(count)
        ],
        ["id"],
    )
    await insert_ignore(
        session,
        Identity,
        [
            {
                "member_id": member_id,
                "community_id": community.id,
                "platform": platform,
                "user_id": user_id(i),
                "display_name": f"Member {i}",
                "last_inbound_at": last_inbound or now,
                "created_at": now,
            }
            for i, member_id in enumerate(ids)
        ],
        ["id"],
    )
    return ids
