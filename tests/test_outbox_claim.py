"""The outbox claim costs the batch, not the queue: its queries' plans at 100,000 queued
rows, read from the database itself (EXPLAIN of the statements a real claim runs)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import String, case, cast, event, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import OutboxMessage
from tests.harness import Harness

QUEUED = 100_000
LIMIT = 64


async def queue_rows(connection: AsyncConnection, now: Any, total: int = QUEUED) -> None:
    """1,000 rows written as a fan-out writes them, then doubled in SQL to past 100,000:
    the older half sent already (mid fan-out), one pending row in ten not due yet (a
    member's quiet hours), a few leased to a live process, and another platform's too."""
    table = OutboxMessage.__table__
    seed = [
        {
            "idempotency_key": f"seed:{i}",
            "platform": "memory",
            "conversation_kind": "dm",
            "conversation_id": f"u{i}",
            "text": "Question 1 of 3",
            "choices": [],
            "options": {},
            "context": {"kind": "prompt", "prompt_id": i},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now - timedelta(minutes=1),
            "created_at": now,
        }
        for i in range(1000)
    ]
    await connection.execute(insert(table), seed)
    c = table.c
    generation = 0
    while (await connection.scalar(select(func.count()).select_from(table))) < total:
        generation += 1
        copied = select(
            c.idempotency_key + literal(f":{generation}:") + cast(c.id, String),
            case((c.id % 7 == 0, literal("telegram")), else_=c.platform),
            c.conversation_kind,
            c.conversation_id + literal(".") + cast(c.id, String),
            c.text,
            c.choices,
            c.options,
            c.context,
            c.status,
            c.attempts,
            c.next_attempt_at,
            c.created_at,
        )
        await connection.execute(
            insert(table).from_select(
                [
                    "idempotency_key",
                    "platform",
                    "conversation_kind",
                    "conversation_id",
                    "text",
                    "choices",
                    "options",
                    "context",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                copied,
            )
        )
    middle = await connection.scalar(select(func.max(c.id))) // 2
    await connection.execute(
        table.update().where(c.id <= middle).values(status="sent", sent_at=now)
    )
    await connection.execute(
        table.update()
        .where(c.id > middle, c.id % 10 == 3)
        .values(next_attempt_at=now + timedelta(hours=6))
    )
    await connection.execute(
        table.update()
        .where(c.id > middle, c.id % 997 == 5)
        .values(status="sending", lease_until=now + timedelta(seconds=30))
    )


async def claim_capturing(harness: Harness) -> tuple[list[Any], list[tuple[str, Any]]]:
    """A real claim, and the SELECTs on the outbox it ran, as the driver got them."""
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        head = statement.lstrip().upper()
        if head.startswith(("SELECT", "UPDATE")) and "outbox" in statement:
            seen.append((statement, parameters))

    engine = harness.indaba.db.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        claimed = list(await harness.indaba.delivery._claim(LIMIT))
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return claimed, seen


def pg_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(pg_nodes(child))
    return nodes


async def pg_plan(
    connection: AsyncConnection, statement: str, parameters: Any, *, analyze: bool = True
) -> list[dict[str, Any]]:
    """Every node of PostgreSQL's plan for a statement a claim ran (run, with ``analyze``)."""
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    raw = (
        await connection.exec_driver_sql(f"EXPLAIN ({options}) " + statement, parameters)
    ).scalar()
    return pg_nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])


def rows_read(nodes: list[dict[str, Any]], *, loops: bool = False) -> int:
    """Rows a plan's scans read, kept or filtered out (each loop counted with ``loops``)."""
    return sum(
        node.get("Actual Rows", 0) * (node.get("Actual Loops", 1) if loops else 1)
        + node.get("Rows Removed by Filter", 0)
        for node in nodes
        if "Scan" in node["Node Type"]
    )


async def sqlite_plan(connection: AsyncConnection, statement: str, parameters: Any) -> list[str]:
    """SQLite's plan for a statement a claim ran, a step a line."""
    explained = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return [row[3] for row in explained.all()]


async def test_the_claim_reads_the_batch_not_the_queue(harness: Harness) -> None:
    h = harness
    now = h.clock.now()
    async with h.indaba.db.begin() as connection:
        await queue_rows(connection, now)
    async with h.indaba.sessions() as session, session.begin():
        await h.indaba.outbox.put(
            session,
            [Envelope("new", OutgoingMessage(Address("memory", ConversationKind.DM, "x"), "hi"))],
        )
    claimed, seen = await claim_capturing(h)
    assert len(claimed) == LIMIT
    assert all(row.platform == "memory" and row.status == "sending" for row in claimed)
    stale, due, by_id = seen[:3]
    assert by_id[0].lstrip().upper().startswith("UPDATE")
    # Without statistics of the table (SQLite has none unless ANALYZE runs; PostgreSQL
    # until autovacuum comes by after a large fan-out was written) and with them.
    await check_plans(h, [stale, due])
    await check_updated_by_id(h, *by_id, "pk_outbox")
    async with h.indaba.db.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await check_plans(h, [stale, due])
    await check_updated_by_id(h, *by_id, "pk_outbox")


async def check_plans(h: Harness, statements: list[tuple[str, Any]]) -> None:
    stale, due = statements
    postgres = h.indaba.db.dialect.name == "postgresql"
    async with h.indaba.db.connect() as connection:
        for statement, parameters in (stale, due):
            if postgres:
                nodes = await pg_plan(connection, statement, parameters)
                types = [node["Node Type"] for node in nodes]
                assert "Seq Scan" not in types, types
                # Rows read, kept or filtered out: the batch and what lies in its way
                # (pending rows not due yet), never the queue.
                read = rows_read(nodes)
                assert read < 20 * LIMIT, (read, types)
                if statement is due[0]:
                    assert "Sort" not in types, types
            else:
                steps = await sqlite_plan(connection, statement, parameters)
                assert not any(step.startswith("SCAN outbox") for step in steps), steps
                if statement is due[0]:
                    assert any("ix_outbox_pending" in step for step in steps), steps
                    assert not any("TEMP B-TREE" in step for step in steps), steps
                else:
                    assert any("ix_outbox_due" in step for step in steps), steps
        await connection.rollback()


async def check_updated_by_id(h: Harness, statement: str, parameters: Any, pk: str) -> None:
    """The claim's UPDATE finds its rows by id, whatever else it checks again."""
    async with h.indaba.db.connect() as connection:
        if h.indaba.db.dialect.name == "postgresql":
            found = await pg_plan(connection, statement, parameters, analyze=False)
            assert "Seq Scan" not in [node["Node Type"] for node in found]
            assert pk in [node.get("Index Name") for node in found], found
        else:
            steps = await sqlite_plan(connection, statement, parameters)
            assert steps and all("INTEGER PRIMARY KEY" in step for step in steps), steps
        await connection.rollback()
