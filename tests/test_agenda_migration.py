"""Migration 0007 numbers the agenda items proposed before numbering, in proposal order
within each round, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import upgrade

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_items_from_before_numbering_are_numbered_in_proposal_order(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as connection:

            async def insert(sql: str, **values: object) -> None:
                await connection.execute(text(sql), values)

            await insert(
                "INSERT INTO communities (id, name, timezone, language, settings, created_at)"
                " VALUES (1, 'C', 'UTC', 'en', '{}', :at)",
                at=T0,
            )
            await insert(
                "INSERT INTO members (id, community_id, display_name, role, opted_out,"
                " anonymous, joined_at) VALUES (1, 1, 'Amina', 'member', false, false, :at)",
                at=T0,
            )
            for meeting in (1, 2):
                await insert(
                    "INSERT INTO meetings (id, community_id, kind, title, starts_at, created_at)"
                    " VALUES (:id, 1, 'meeting', 'M', :at, :at)",
                    id=meeting,
                    at=T0,
                )
                await insert(
                    "INSERT INTO agenda_rounds (id, community_id, meeting_id, status,"
                    " opened_at, ranking) VALUES (:id, 1, :id, 'proposals', :at, '[]')",
                    id=meeting,
                    at=T0,
                )
            # Round 1: ids out of proposal order; round 2 numbers on its own.
            for item, round_id, minutes in ((10, 1, 5), (11, 1, 1), (12, 2, 3), (13, 1, 9)):
                await insert(
                    "INSERT INTO agenda_items (id, round_id, member_id, title, created_at)"
                    " VALUES (:id, :round, 1, 'T', :at)",
                    id=item,
                    round=round_id,
                    at=T0 + timedelta(minutes=minutes),
                )
        await upgrade(engine, "0007")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT id, number FROM agenda_items ORDER BY id"))
            ).all()
            anonymous = (
                await connection.execute(text("SELECT anonymous FROM agenda_rounds"))
            ).scalars()
            assert [(r[0], r[1]) for r in rows] == [(10, 2), (11, 1), (12, 1), (13, 3)]
            assert set(anonymous) == {False}
    finally:
        await engine.dispose()
