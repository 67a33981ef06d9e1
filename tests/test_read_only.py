"""Work that only reads takes no write lock on SQLite: an export run beside a running
Indaba does not hold the webhooks' acknowledgements (another process's writes)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import create_engine, read_only_sessions, session_factory
from storage.migrate import upgrade
from storage.models import Community


def write_from_another_process(path: Path) -> None:
    """What a running Indaba does on a webhook: a short write, waiting 0.3 s at most."""
    writer = sqlite3.connect(path, timeout=0.3, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO processed_events (key, received_at) VALUES (?, '2026-12-01 09:00')",
            (f"key-{id(writer)}",),
        )
        writer.execute("COMMIT")
    finally:
        writer.close()


async def test_a_reader_leaves_writers_free_and_a_writer_does_not(tmp_path: Path) -> None:
    path = tmp_path / "indaba.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        async with read_only_sessions(engine)() as session:
            # The export's transaction has begun and read (holds its snapshot)...
            assert await session.scalar(select(func.count()).select_from(Community)) == 0
            # ...and another process writes meanwhile, without waiting.
            await asyncio.to_thread(write_from_another_process, path)
            # The reader keeps the snapshot it began with.
            assert await session.scalar(select(func.count()).select_from(Community)) == 0
        async with session_factory(engine)() as session:
            await session.scalar(select(func.count()).select_from(Community))
            # A session that may write holds the lock from its first statement.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await asyncio.to_thread(write_from_another_process, path)
    finally:
        await engine.dispose()
