"""Work that only reads takes no write lock on SQLite: an export run beside a running
Indaba does not hold the webhooks' acknowledgements (another process's writes)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.messages import Conversation, ConversationKind, MessageReceived, Sender
from storage.db import create_engine, read_only_sessions, session_factory
from storage.migrate import upgrade
from storage.models import Community, Meeting
from tests.harness import Harness


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


async def test_a_brief_being_downloaded_does_not_hold_the_webhooks(
    tmp_path: Path, database_url: str
) -> None:
    """The meeting pack reads through a connection of its own on SQLite, taking no lock:
    while a facilitator's download of the brief's file is open, an inbound event is
    still stored (acknowledged) at once."""
    h = await Harness.create(database_url, tmp_path)
    try:
        await h.setup_community(members=("amina", "kwame"))
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
        await h.advance(days=11, hours=3)
        await h.say("amina", "The water point map went live in two wards")
        async with h.indaba.sessions() as session:
            meeting = await session.scalar(select(Meeting))
            assert meeting is not None
        response = await h.indaba.pack().brief_file(meeting.id)
        download = response.body_iterator
        first = await anext(download)  # the download's transaction is open
        assert "section,question,member,text,figure" in str(first)
        stored = await asyncio.wait_for(
            h.indaba.inbox.put(
                MessageReceived(
                    Conversation("memory", "kwame", ConversationKind.DM),
                    Sender("memory", "kwame", "Kwame"),
                    "while-downloading",
                    text="Budget hearings in every district",
                )
            ),
            timeout=10,
        )
        assert stored is True
        rest = [chunk async for chunk in download]
        assert any("The water point map went live" in str(chunk) for chunk in rest)
    finally:
        await h.aclose()
