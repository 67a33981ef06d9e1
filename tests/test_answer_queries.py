"""What a plain answer costs the database, pinned so that it cannot silently grow back.

A member's answer to their open pre-meeting question, in their DM, on a platform with
a reply window (WhatsApp's path, the longest): the statements the engine sends while
handling it are counted with a ``before_cursor_execute`` listener (tests/queries.py).
Where they go is in README's inbound figures; ``benchmarks/engine_queries.py`` prints
them on either database.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from adapters.memory import MemoryAdapter
from bot.adapter import Capabilities
from storage.models import Prompt, Reply
from storage.statuses import PromptStatus
from tests.harness import Harness, to
from tests.queries import counting
from tests.test_filing import questions_out
from tests.test_outbox_claim import pg_plan, queue_rows, rows_read, sqlite_plan

# The account, its members and communities (1), its reply window (1), held messages
# released (1), the space (1), the open question with its meeting (1), what else is
# asked (1, plus the re-opener where there is a window: 1), open confirmations (1),
# the question set (1), an earlier answer (1); then the writes: the acknowledgement,
# the answer and its question, the next question and its prompt, what /undo takes back.
PLAIN_ANSWER = 17


async def windowed(database_url: str, tmp_path: Path) -> Harness:
    adapter = MemoryAdapter(
        capabilities=Capabilities(reply_to=True, reply_window=timedelta(hours=24))
    )
    return await Harness.create(database_url, tmp_path, adapters=[adapter])


async def test_a_plain_answer_costs_a_bounded_number_of_statements(
    database_url: str, tmp_path: Path
) -> None:
    h = await windowed(database_url, tmp_path)
    try:
        await h.setup_community(members=("amina",))
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
        sent = await h.advance(days=11, hours=3)
        assert [s.message.reopener for s in sent if s.message.address.conversation_id == "amina"]
        # Her window re-opened (the question follows), then a first answer.
        assert any("Question 1 of 3" in text for text in to(await h.say("amina", "Hi"), "amina"))
        await h.say("amina", "Our budget portal went live")
        with counting(h.indaba.db) as queries:
            sent = to(await h.say("amina", "Procurement data from the ministry"), "amina")
        engine = [s for s in queries.within("handle_stored") if s.verb != "BEGIN"]
        assert len(engine) <= PLAIN_ANSWER, "\n".join(
            f"{n:3} {where}" for where, n in queries.by_caller("handle_stored").most_common()
        )
        # Counted while it did the whole job: kept, said back, the next question asked.
        assert sent[0].startswith("Saved as your answer to question 2 of 3")
        assert "Question 3 of 3" in sent[1]
        async with h.indaba.sessions() as session:
            answers = (await session.scalars(select(Reply.text).order_by(Reply.id))).all()
            statuses = (await session.scalars(select(Prompt.status).order_by(Prompt.id))).all()
        assert answers == ["Our budget portal went live", "Procurement data from the ministry"]
        assert statuses == [PromptStatus.ANSWERED, PromptStatus.ANSWERED, PromptStatus.ASKED]
    finally:
        await h.aclose()


async def test_the_count_sees_every_statement(harness: Harness) -> None:
    """The listener counts what the engine sends and names where it comes from."""
    h = harness
    await questions_out(h)
    with counting(h.indaba.db) as queries:
        await h.say("amina", "Our budget portal went live")
    callers = queries.by_caller("handle_stored")
    assert any(where.endswith("directory.py:touch_inbound") for where in callers)
    assert any(where.startswith("INSERT") and "replies" not in where for where in callers)
    assert any(s.verb == "INSERT" and "INTO replies" in s.sql for s in queries.statements)
    # Statements outside the handling (storing, claiming) are told apart from it.
    assert len(queries.within("handle_stored")) < len(queries.statements)


async def test_an_answer_reads_its_conversation_not_the_outbox(
    database_url: str, tmp_path: Path
) -> None:
    """With 30,000 other messages in the outbox (half of them sent, as after a large
    fan-out), the lookups an answer makes in its conversation's messages (the last one
    delivered, those held for the reply window, open confirmations) read that
    conversation's rows from an index, not every message of a status: each read the
    whole sent half, 31 ms an answer on PostgreSQL at 60,000 sent messages."""
    h = await windowed(database_url, tmp_path)
    try:
        await h.setup_community(members=("amina",))
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
        await h.advance(days=11, hours=3)
        await h.say("amina", "Hi")
        async with h.indaba.db.begin() as connection:
            await queue_rows(connection, h.clock.now(), 30_000)
        postgres = h.indaba.db.dialect.name == "postgresql"
        if postgres:
            # Planned with the statistics autovacuum keeps, not those of the empty table
            # the rows were just copied into: with none, PostgreSQL may skip the
            # conversation in the index and filter every row of the platform instead.
            async with h.indaba.db.connect() as connection:
                await connection.exec_driver_sql("ANALYZE outbox")
                await connection.commit()
        seen: list[tuple[str, Any]] = []

        def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            head = statement.lstrip().upper()
            if head.startswith(("SELECT", "UPDATE")) and "FROM outbox" in statement.replace(
                "UPDATE outbox", "FROM outbox"
            ):
                seen.append((statement, parameters))

        engine = h.indaba.db.sync_engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            sent = to(await h.say("amina", "Our budget portal went live"), "amina")
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert sent[0].startswith("Saved as your answer to question 1 of 3")
        conversation = [(s, p) for s, p in seen if "conversation_id" in s.split("WHERE", 1)[-1]]
        assert len(conversation) >= 2, seen
        async with h.indaba.db.connect() as connection:
            for statement, parameters in conversation:
                if postgres:
                    nodes = await pg_plan(connection, statement, parameters)
                    types = [node["Node Type"] for node in nodes]
                    assert "Seq Scan" not in types, (statement, types)
                    assert rows_read(nodes) < 100, (statement, rows_read(nodes), types)
                else:
                    steps = await sqlite_plan(connection, statement, parameters)
                    assert any("ix_outbox_conversation" in step for step in steps), (
                        statement,
                        steps,
                    )
            await connection.rollback()
    finally:
        await h.aclose()
