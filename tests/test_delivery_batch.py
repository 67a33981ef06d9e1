"""What a delivery pass costs the database: a fixed number of statements per batch,
whatever the batch holds (the reply window of every member in it looked up at once)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from adapters.memory import MemoryAdapter
from bot.adapter import Capabilities
from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from tests.harness import Harness


async def statements_of_one_pass(h: Harness, members: int) -> list[str]:
    async with h.indaba.sessions() as session, session.begin():
        await h.indaba.outbox.put(
            session,
            [
                Envelope(
                    f"q:{members}:{i}",
                    OutgoingMessage(Address("memory", ConversationKind.DM, f"m{i}"), "Question"),
                )
                for i in range(members)
            ],
        )
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = h.indaba.db.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert await h.indaba.delivery.deliver_due(batch_size=members) == members
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


async def test_a_pass_costs_the_same_statements_for_8_or_64_members(
    database_url: str, tmp_path: Path
) -> None:
    windowed = MemoryAdapter(
        name="memory", capabilities=Capabilities(reply_window=timedelta(hours=24), groups=False)
    )
    h = await Harness.create(database_url, tmp_path, adapters=[windowed])
    try:
        small = await statements_of_one_pass(h, 8)
        large = await statements_of_one_pass(h, 64)
        windowed.pop()
        windows = [s for s in large if "FROM identities" in s]
        assert len(windows) == 1, windows
        # No more for 64 than for 8 (the first pass also rechecks failed statuses).
        assert len(large) <= len(small), (len(small), len(large))
    finally:
        await h.aclose()
