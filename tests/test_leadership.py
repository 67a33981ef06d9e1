"""One replica leads the timetable; another takes over when it dies."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.clock import SystemClock
from bot.runtime.leadership import Leadership
from storage.db import create_engine, session_factory
from storage.models import Replica


class Led:
    def __init__(self) -> None:
        self.elected = 0
        self.deposed = 0

    async def on_elected(self) -> None:
        self.elected += 1

    async def on_deposed(self) -> None:
        self.deposed += 1


async def test_one_leader_and_a_takeover(db: AsyncEngine, database_url: str) -> None:
    other_db = create_engine(database_url)
    first, second = Led(), Led()
    a = Leadership(db, session_factory(db), SystemClock(), retry_seconds=0.1, heartbeat_seconds=0.1)
    b = Leadership(
        other_db, session_factory(other_db), SystemClock(), retry_seconds=0.1, heartbeat_seconds=0.1
    )
    a.role("timetable", first.on_elected, first.on_deposed)
    b.role("timetable", second.on_elected, second.on_deposed)
    try:
        await a.start()
        await b.start()
        await asyncio.sleep(0.5)
        if db.dialect.name == "sqlite":
            # One process per SQLite file: each leads on its own.
            assert first.elected == 1 and second.elected == 1
            return
        assert (first.elected, second.elected) == (1, 0)
        async with session_factory(db)() as session:
            rows = {r.id: r.leads for r in await session.scalars(select(Replica))}
        assert rows == {a.replica_id: "timetable", b.replica_id: ""}
        # The leader's database connection breaks (as when its process dies): PostgreSQL
        # releases the lock, the other process takes over, the old leader steps down.
        held = a._roles["timetable"]._connection
        assert held is not None
        await held.invalidate()
        for _ in range(50):
            if second.elected and first.deposed:
                break
            await asyncio.sleep(0.1)
        assert (second.elected, first.deposed) == (1, 1)
        await asyncio.sleep(0.3)
        async with session_factory(db)() as session:
            rows = {r.id: r.leads for r in await session.scalars(select(Replica))}
        assert rows[b.replica_id] == "timetable" and rows[a.replica_id] == ""
        # A clean stop removes the replica's row.
        await b.aclose()
        async with session_factory(db)() as session:
            assert b.replica_id not in {r.id for r in await session.scalars(select(Replica))}
    finally:
        await a.aclose()
        await b.aclose()
        await other_db.dispose()
