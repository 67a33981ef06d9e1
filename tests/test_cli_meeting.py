"""``indaba meeting``: list --all, move, cancel and ics from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Calendar
from sqlalchemy import select

from storage.db import create_engine, session_factory
from storage.models import Identity, Member, OutboxMessage
from tests.test_cli import db_env, indaba


async def _add_member(database_url: str) -> None:
    db = create_engine(database_url)
    try:
        async with session_factory(db)() as session, session.begin():
            now = datetime.now(UTC)
            member = Member(community_id=1, display_name="Amina", language="fr", joined_at=now)
            session.add(member)
            await session.flush()
            session.add(
                Identity(
                    member_id=member.id,
                    community_id=1,
                    platform="telegram",
                    user_id="42",
                    display_name="Amina",
                    created_at=now,
                )
            )
    finally:
        await db.dispose()


async def _outbox(database_url: str) -> list[OutboxMessage]:
    db = create_engine(database_url)
    try:
        async with session_factory(db)() as session:
            rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return list(rows.all())
    finally:
        await db.dispose()


def test_meeting_move_cancel_ics_and_list_all(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    created = indaba("community", "create", "Maputo Water", "-t", "Africa/Maputo", env=env)
    assert created.returncode == 0, created.stderr
    asyncio.run(_add_member(database_url))
    day = date.today() + timedelta(days=30)
    added = indaba("meeting", "add", "-c", "1", "--at", f"{day} 15:00", "--title", "Água", env=env)
    assert added.returncode == 0, added.stderr

    later = day + timedelta(days=7)
    moved = indaba("meeting", "move", "1", "--at", f"{later} 10:00", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "meeting 1 moved" in moved.stdout and "1 member(s) told" in moved.stdout
    [notice] = asyncio.run(_outbox(database_url))
    assert notice.platform == "telegram" and notice.conversation_id == "42"
    assert "est déplacée" in notice.text  # in Amina's language
    assert notice.options["attachment"]["filename"] == "meeting-1.ics"

    same = indaba("meeting", "move", "1", "--at", f"{later} 10:00", env=env)
    assert (
        same.returncode == 1
        and same.stderr.strip() == "indaba: The meeting is already at that time."
    )
    missing = indaba("meeting", "cancel", "7", env=env)
    assert missing.returncode == 1 and "no meeting with id 7" in missing.stderr

    written = tmp_path / "meeting.ics"
    assert indaba("meeting", "ics", "1", "-o", str(written), env=env).returncode == 0
    event = Calendar.from_ical(written.read_bytes()).events[0]
    assert event["SUMMARY"] == "Água" and event["STATUS"] == "CONFIRMED"
    assert event.start == datetime.combine(later, datetime.min.time(), UTC).replace(hour=8)

    cancelled = indaba("meeting", "cancel", "1", env=env)
    assert cancelled.returncode == 0 and "meeting 1 cancelled" in cancelled.stdout
    again = indaba("meeting", "cancel", "1", env=env)
    assert again.returncode == 1
    assert again.stderr.strip() == "indaba: That meeting is cancelled already."
    assert indaba("meeting", "list", env=env).stdout == "no meetings ahead\n"
    everything = indaba("meeting", "list", "--all", env=env).stdout.strip().split("\t")
    assert everything[0] == "1" and everything[4:] == ["Água", "cancelled"]
    printed = indaba("meeting", "ics", "1", env=env).stdout
    assert Calendar.from_ical(printed).events[0]["STATUS"] == "CANCELLED"
    assert len(asyncio.run(_outbox(database_url))) == 2
