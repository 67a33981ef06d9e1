"""The inbox claim costs the waiting events, not the inbox's history: its queries' plans
with 100,000 handled events stored, read from the database (EXPLAIN of the statements a
real claim runs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, event, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import InboxEvent
from tests.harness import Harness
from tests.test_outbox_claim import check_updated_by_id, pg_plan, rows_read, sqlite_plan

HANDLED = 100_000
WAITING = 2_000
LIMIT = 16


async def store_history(connection: AsyncConnection, now: Any) -> None:
    """1,000 events doubled in SQL past 100,000, all handled, then 2,000 waiting."""
    table = InboxEvent.__table__
    c = table.c

    def events(count: int, status: str, offset: int) -> list[dict[str, Any]]:
        return [
            {
                "platform": "memory",
                "conversation_key": f"memory:u{(offset + i) % 5000}",
                "kind": "MessageReceived",
                "payload": {},
                "status": status,
                "attempts": 0,
                "next_attempt_at": now - timedelta(seconds=5),
                "received_at": now,
            }
            for i in range(count)
        ]

    await connection.execute(insert(table), events(1000, "done", 0))
    columns = ["platform", "conversation_key", "kind", "payload", "status", "attempts"]
    columns += ["next_attempt_at", "received_at"]
    while (await connection.scalar(select(func.count()).select_from(table))) < HANDLED:
        copied = select(
            c.platform,
            c.conversation_key + literal(".") + cast(c.id, String),
            *(getattr(c, name) for name in columns[2:]),
        )
        await connection.execute(insert(table).from_select(columns, copied))
    await connection.execute(insert(table), events(WAITING, "pending", 0))


async def test_the_claim_reads_the_waiting_events_not_the_history(harness: Harness) -> None:
    h = harness
    async with h.indaba.db.begin() as connection:
        await store_history(connection, h.clock.now())
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            seen.append((statement, parameters))

    engine = h.indaba.db.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        claimed = await h.indaba.inbox._claim(LIMIT)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    async with h.indaba.db.connect() as connection:
        first_waiting = await connection.scalar(
            select(func.min(InboxEvent.id)).where(InboxEvent.status != "done")
        )
    assert len(claimed) == LIMIT and all(row.id >= first_waiting for row in claimed)
    assert len(seen) == 3
    *seen, by_id = seen
    # SQLite has no statistics of the table unless ANALYZE runs: its plans must hold
    # without them too. (PostgreSQL's autovacuum keeps them, and the inbox grows by
    # requests, not by a fan-out written at once as the outbox does.)
    if h.indaba.db.dialect.name == "sqlite":
        await check_plans(h, seen)
        await check_updated_by_id(h, *by_id, "pk_inbox")
    async with h.indaba.db.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await check_plans(h, seen)
    await check_updated_by_id(h, *by_id, "pk_inbox")


async def check_plans(h: Harness, seen: list[tuple[str, Any]]) -> None:
    postgres = h.indaba.db.dialect.name == "postgresql"
    async with h.indaba.db.connect() as connection:
        for statement, parameters in seen:
            if postgres:
                found = await pg_plan(connection, statement, parameters)
                assert "Seq Scan" not in [node["Node Type"] for node in found]
                # Rows read, kept or filtered out (an index's and its table's both
                # counted): the waiting ones at most, never the handled ones.
                read = rows_read(found, loops=True)
                assert read <= 2 * WAITING + 20 * LIMIT, read
                if statement is seen[1][0]:
                    # Due events read in id order until the batch is full (each one's
                    # conversation looked up as well), not every waiting one read and
                    # sorted: 9 to 38 ms a claim with 12,000 waiting.
                    types = [node["Node Type"] for node in found]
                    assert "Sort" not in types, types
                    assert read <= 20 * LIMIT, (read, types)
            else:
                steps = await sqlite_plan(connection, statement, parameters)
                assert not any(step.startswith("SCAN") for step in steps), steps
                if statement is seen[1][0]:
                    # Due events read in id order from the oldest waiting one, not all
                    # of them found by status and sorted.
                    assert any("INTEGER PRIMARY KEY" in step for step in steps), steps
                    assert not any("TEMP B-TREE" in step for step in steps), steps
        await connection.rollback()


async def test_a_busy_conversation_is_claimed_through_its_waiting_events(
    harness: Harness,
) -> None:
    """One conversation with a long history and a long queue, the first of it being
    handled: whether an earlier event of the conversation still waits is read from
    ix_inbox_waiting (its waiting events), not through its history of handled ones,
    which cost each claim the queue times the history."""
    h = harness
    now = h.clock.now()
    table = InboxEvent.__table__

    def events(count: int, status: str) -> list[dict[str, Any]]:
        return [
            {
                "platform": "memory",
                "conversation_key": "memory:busy",
                "kind": "MessageReceived",
                "payload": {},
                "status": status,
                "attempts": 0,
                "next_attempt_at": now - timedelta(seconds=5),
                "lease_until": now + timedelta(minutes=2) if status == "handling" else None,
                "received_at": now,
            }
            for _ in range(count)
        ]

    async with h.indaba.db.begin() as connection:
        await connection.execute(insert(table), events(5000, "done"))
        await connection.execute(insert(table), events(1, "handling"))
        await connection.execute(insert(table), events(500, "pending"))
        await connection.execute(text("ANALYZE"))
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = h.indaba.db.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        # Nothing to claim: the conversation's first waiting event is being handled.
        assert await h.indaba.inbox._claim(LIMIT) == []
    finally:
        event.remove(engine, "before_cursor_execute", before)
    statement, parameters = seen[-1]
    assert "EXISTS" in statement.upper()
    async with h.indaba.db.connect() as connection:
        if h.indaba.db.dialect.name == "postgresql":
            found = await pg_plan(connection, statement, parameters)
            assert "ix_inbox_waiting" in [node.get("Index Name") for node in found]
            # The queue's events and a probe each: never the history's 5,000 per probe.
            read = rows_read(found, loops=True)
            assert read <= 4 * 501, read
        else:
            steps = await sqlite_plan(connection, statement, parameters)
            assert any("ix_inbox_waiting" in step for step in steps), steps
        await connection.rollback()
