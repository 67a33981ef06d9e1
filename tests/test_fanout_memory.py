"""The questions step and the reminder hold one page of members at a time, whatever the
community's size: never more than a page of members, and no prompt or outbox row as an
ORM object, in a session's identity map; every member is still asked and reminded once,
in the order of their ids, after a failure halfway through the step too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from benchmarks.members import add_members
from bot.engine.services.questions import PAGE
from storage.models import Community, OutboxMessage, Prompt
from tests.harness import Harness
from tests.test_premeeting_cycle import add_meeting

# More than two pages, so a step that holds everyone holds more than a page.
MEMBERS = 2 * PAGE + 100


async def many_members(h: Harness, count: int) -> None:
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        await add_members(session, community, count, "memory", lambda i: f"u{i}", h.clock.now())


@contextmanager
def most_held() -> Iterator[Counter[str]]:
    """The most objects of each class any session held at once, seen before each of its
    statements."""
    most: Counter[str] = Counter()

    def count(state: ORMExecuteState) -> None:
        held = Counter(type(obj).__name__ for obj in state.session.identity_map.values())
        for name, number in held.items():
            most[name] = max(most[name], number)

    event.listen(Session, "do_orm_execute", count)
    try:
        yield most
    finally:
        event.remove(Session, "do_orm_execute", count)


async def keys(h: Harness, prefix: str) -> list[tuple[str, int | None]]:
    async with h.indaba.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.idempotency_key, OutboxMessage.member_id)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.id)
        )
        return [(key, member_id) for key, member_id in rows]


async def test_questions_and_reminder_hold_one_page(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=())
    await many_members(h, MEMBERS)
    await add_meeting(h)

    with most_held() as most:
        await h.indaba.clock.advance(timedelta(days=11, hours=3))
    assert most["Member"] <= PAGE + 1  # a page, and the facilitator
    assert most["Identity"] <= PAGE + 1
    assert most["Prompt"] == most["OutboxMessage"] == 0

    asked = await keys(h, "prompt:")
    assert len(asked) == MEMBERS
    # Sent in the order of the members' ids, each member's question before the next's.
    members = [member_id for _, member_id in asked]
    assert members == sorted(members)
    assert len(await keys(h, "attendance:")) == MEMBERS
    async with h.indaba.sessions() as session:
        prompts = await session.scalar(select(func.count()).select_from(Prompt))
    assert prompts == MEMBERS * 3

    with most_held() as most:
        await h.indaba.clock.advance(timedelta(days=4))
    assert most["Member"] <= PAGE + 1
    assert most["Prompt"] == most["OutboxMessage"] == 0
    reminded = await keys(h, "reminder:")
    assert [member_id for _, member_id in reminded] == members


async def test_a_step_that_failed_halfway_asks_everyone_once_when_run_again(
    harness: Harness,
) -> None:
    h = harness
    await h.setup_community(members=())
    await many_members(h, MEMBERS)
    await add_meeting(h)
    outbox_inserts = 0

    def fail_on_second_page(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        nonlocal outbox_inserts
        if statement.startswith("INSERT INTO outbox "):
            outbox_inserts += 1
            if outbox_inserts == 2:
                raise RuntimeError("the database went away")

    engine = h.indaba.db.sync_engine
    event.listen(engine, "before_cursor_execute", fail_on_second_page)
    try:
        with pytest.raises(RuntimeError):
            await h.indaba.clock.advance(timedelta(days=11, hours=3))
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_second_page)
    assert await keys(h, "prompt:") == []

    await h.indaba.timetable.run_due()
    asked = await keys(h, "prompt:")
    assert len(asked) == len({member_id for _, member_id in asked}) == MEMBERS
    async with h.indaba.sessions() as session:
        prompts = await session.scalar(select(func.count()).select_from(Prompt))
    assert prompts == MEMBERS * 3


async def test_a_post_to_a_community_without_groups_holds_one_page(harness: Harness) -> None:
    """Where no group shows a community post (a WhatsApp-only community), each member
    gets it as a DM; the members are read and written a page at a time."""
    h = harness
    await h.create_community()
    await many_members(h, MEMBERS)
    messenger = h.indaba.engine.messenger
    with most_held() as most:
        async with h.indaba.sessions() as session, session.begin():
            community = await session.scalar(select(Community))
            assert community is not None
            sent = await messenger.to_community(
                session, community, "notice", "The meeting moved to Thursday."
            )
    assert most["Member"] <= PAGE
    assert most["Identity"] <= PAGE
    posted = await keys(h, "notice:member:")
    assert sent == len(posted) == MEMBERS
    members = [member_id for _, member_id in posted]
    assert members == sorted(members)
