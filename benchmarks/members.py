"""Seeding many members at once for the benchmarks (bulk inserts, not one by one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_ignore
from storage.models import Community, Identity, Member


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
