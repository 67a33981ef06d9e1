"""The durable inbox: stored before the acknowledgement, handled once, in order per
conversation, failures retried then parked where an operator sees them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import typing
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import messages
from bot.engine.engine import event_key
from bot.messages import (
    Conversation,
    ConversationKind,
    InboundEvent,
    MessageReceived,
    Sender,
    stored_fields,
)
from bot.runtime.clock import SystemClock
from bot.runtime.inbox import EVENT_TYPES, Inbox, decode, encode, retry_dead
from bot.runtime.metrics import Metrics
from storage.db import session_factory
from storage.models import InboxEvent, ProcessedEvent
from storage.statuses import InboxStatus
from tests.harness import Harness, texts
from tests.queries import counting


def said(conversation: str, text: str, message_id: str) -> MessageReceived:
    return MessageReceived(
        Conversation("memory", conversation, ConversationKind.DM),
        Sender("memory", conversation, conversation.capitalize()),
        message_id,
        text=text,
        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    )


def inbox_on(db: AsyncEngine, handler, concurrency: int = 4, **kw: object) -> Inbox:  # type: ignore[no-untyped-def]
    return Inbox(
        session_factory(db),
        SystemClock(),
        Metrics(),
        handler,
        event_key,
        concurrency=concurrency,
        **kw,
    )


@contextlib.asynccontextmanager
async def running(inbox: Inbox) -> AsyncIterator[None]:
    """``inbox.run()`` as a worker for the block; stopped and closed after it."""
    worker = asyncio.create_task(inbox.run())
    try:
        yield
    finally:
        inbox.stop()
        await worker
        await inbox.aclose()


async def counts(db: AsyncEngine) -> dict[str, int]:
    async with session_factory(db)() as session:
        rows = await session.execute(
            select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        )
        return dict(rows.all())  # type: ignore[arg-type]


def events_of(cls: type[InboundEvent]) -> st.SearchStrategy[InboundEvent]:
    """Any event of ``cls``, every field drawn from its type (``raw`` left out)."""
    hints = typing.get_type_hints(cls, vars(messages))
    return st.builds(cls, **{name: st.from_type(hints[name]) for name in stored_fields(cls)})


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_event_type_round_trips(data: st.DataObject) -> None:
    assert len(EVENT_TYPES) >= 7
    for name, cls in EVENT_TYPES.items():
        event = data.draw(events_of(cls))
        assert decode(name, encode(event)) == event
        # And through JSON, as the database keeps it.
        assert decode(name, json.loads(json.dumps(encode(event)))) == event


async def test_stored_before_put_returns_and_a_redelivery_is_stored_once(db: AsyncEngine) -> None:
    handled: list[str] = []

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text)

    inbox = inbox_on(db, handler)
    first = said("u1", "Our answer", "m1")
    assert await inbox.put(first) is True
    # Committed before put() returned: another connection sees it.
    assert await counts(db) == {"pending": 1}
    results = await asyncio.gather(*(inbox.put(said("u1", "Our answer", "m1")) for _ in range(5)))
    assert results == [False] * 5
    assert await counts(db) == {"pending": 1}
    assert await inbox.drain() == 1
    assert handled == ["Our answer"]
    assert await counts(db) == {"done": 1}
    await inbox.aclose()


async def test_a_restart_after_the_acknowledgement_loses_nothing(db: AsyncEngine) -> None:
    """Events stored by one process and never handled are handled by the next."""

    async def never(session: AsyncSession, event: InboundEvent) -> None:
        raise AssertionError("the first process dies before handling")

    first = inbox_on(db, never)
    for n in range(10):
        await first.put(said(f"u{n % 3}", f"answer {n}", f"m{n}"))
    await first.aclose()  # the process is gone; nothing was handled

    handled: list[str] = []

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text)

    second = inbox_on(db, handler)
    assert await second.drain() == 10
    assert sorted(handled) == sorted(f"answer {n}" for n in range(10))
    await second.aclose()


async def test_one_conversation_in_order_many_in_parallel(db: AsyncEngine) -> None:
    order: dict[str, list[int]] = {}
    in_flight: set[str] = set()
    overlap = 0

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        nonlocal overlap
        assert isinstance(event, MessageReceived)
        who = event.conversation.id
        assert who not in in_flight, "two events of one conversation at once"
        in_flight.add(who)
        overlap = max(overlap, len(in_flight))
        await asyncio.sleep(0.005)
        order.setdefault(who, []).append(int(event.text))
        in_flight.discard(who)

    inbox = inbox_on(db, handler, concurrency=4)
    await asyncio.gather(*(inbox.put(said(f"u{n % 4}", str(n), f"m{n}")) for n in range(40)))
    async with running(inbox):
        for _ in range(400):
            if sum(len(v) for v in order.values()) == 40:
                break
            await asyncio.sleep(0.02)
    assert {who: sorted(numbers) for who, numbers in order.items()} == order
    assert sum(len(v) for v in order.values()) == 40
    assert overlap > 1  # different conversations did run side by side


async def test_a_failing_event_is_retried_then_dead_then_retried_by_the_operator(
    db: AsyncEngine,
) -> None:
    calls = 0

    async def flaky(session: AsyncSession, event: InboundEvent) -> None:
        nonlocal calls
        calls += 1
        session.add(
            ProcessedEvent(key=f"written-then-failed-{calls}", received_at=datetime.now(UTC))
        )
        await session.flush()
        raise RuntimeError("the engine failed")

    inbox = inbox_on(db, flaky, max_attempts=2)
    await inbox.put(said("u1", "hello", "m1"))
    await inbox.put(said("u1", "later, same conversation", "m2"))
    await inbox.drain()
    assert calls == 1
    async with session_factory(db)() as session:
        row = await session.scalar(select(InboxEvent).order_by(InboxEvent.id).limit(1))
        assert row is not None and row.status == InboxStatus.PENDING and row.attempts == 1
        assert row.last_error == "RuntimeError: the engine failed"
        # What the failed handling wrote was rolled back with it.
        written = select(func.count(ProcessedEvent.id)).where(
            ProcessedEvent.key.like("written-then-failed-%")
        )
        assert await session.scalar(written) == 0
        row.next_attempt_at = datetime.now(UTC)
        await session.commit()
    await inbox.drain()
    # Dead after two attempts; the conversation's next event is no longer blocked by it
    # (it failed once too and waits for its retry).
    assert calls == 3
    assert await counts(db) == {"dead": 1, "pending": 1}
    async with session_factory(db)() as session, session.begin():
        assert await retry_dead(session, datetime.now(UTC)) == 1
    assert (await counts(db)).get("dead", 0) == 0
    await inbox.aclose()


async def test_the_engine_handles_what_the_adapter_stored(
    database_url: str, tmp_path: Path
) -> None:
    h = await Harness.create(database_url, tmp_path)
    try:
        await h.create_community()
        sent = await h.say("amina", "/help")
        assert any("/join" in text for text in texts(sent))
        async with h.indaba.sessions() as session:
            statuses = (await session.scalars(select(InboxEvent.status))).all()
        assert statuses and set(statuses) == {InboxStatus.DONE}
    finally:
        await h.aclose()


async def test_drain_waits_for_what_the_workers_claimed_as_it_began(db: AsyncEngine) -> None:
    """drain() returns only once every stored event was handled, even when a running
    worker claimed it a moment before (the console settles this way after each line)."""
    handled: list[str] = []

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        await asyncio.sleep(0.01)
        handled.append(event.text)

    inbox = inbox_on(db, handler)
    async with running(inbox):
        for n in range(40):
            await inbox.put(said(f"u{n}", f"line {n}", f"m{n}"))
            # Let the woken worker begin its claim before drain() begins its own.
            for _ in range(n % 20):
                await asyncio.sleep(0)
            await inbox.drain()
            assert handled[-1:] == [f"line {n}"], n


async def test_a_long_queue_in_one_conversation_never_waits_for_the_poll(
    db: AsyncEngine,
) -> None:
    """Each event handled wakes the loop to claim the next of its conversation: with
    the poll an hour long, a queue of 200 in one conversation is still handled. (The
    loop waited on its running handlers only, and missed one that finished while it was
    claiming: the queue then went at one event per poll.)"""
    handled: list[int] = []
    everything = asyncio.Event()

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(int(event.text))
        if len(handled) == 200:
            everything.set()

    inbox = inbox_on(db, handler, poll_interval=3600)
    for n in range(200):
        await inbox.put(said("busy", str(n), f"m{n}"))
    async with running(inbox):
        await asyncio.wait_for(everything.wait(), timeout=60)
    assert handled == list(range(200))


async def test_events_arriving_one_by_one_cost_one_claim_each(db: AsyncEngine) -> None:
    """Events stored one at a time, as members write: each costs the claim that takes
    it and the one its handler's end wakes, not a claim more after every partial one,
    and the lookup for leases that ran out runs about once a second, not at each claim.
    (Two lookups a claim and three claims an event cost PostgreSQL's CPU as much as the
    handling did, at 30 answers a second.)"""
    handled = 0
    one = asyncio.Event()

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        nonlocal handled
        handled += 1
        one.set()

    inbox = inbox_on(db, handler, poll_interval=3600)
    events = 30
    async with running(inbox):
        await asyncio.sleep(0.1)  # the first, empty claim of a loop just started
        with counting(db) as queries:
            for n in range(events):
                one.clear()
                await inbox.put(said(f"u{n}", str(n), f"m{n}"))
                await asyncio.wait_for(one.wait(), timeout=10)
                await asyncio.sleep(0.01)  # the claim its end wakes
    assert handled == events
    lookups = [s for s in queries.within("_claim") if s.verb == "SELECT" and "FROM inbox" in s.sql]
    stale = [s for s in lookups if "lease_until <" in s.sql]
    assert len(lookups) - len(stale) <= 2 * events, [s.sql[:80] for s in lookups]
    assert len(stale) <= 3, len(stale)


async def test_an_event_whose_lease_ran_out_is_handled_again_then_the_next(
    db: AsyncEngine,
) -> None:
    """A process died handling an event, and its lease ran out: a running inbox takes it
    again (its look for such leases is spaced out, not dropped), and the event stored
    after it in the same conversation follows it, in order."""
    order: list[str] = []
    both = asyncio.Event()

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        order.append(event.text)
        if len(order) == 2:
            both.set()

    inbox = inbox_on(db, handler, poll_interval=3600)
    await inbox.put(said("amina", "first", "m1"))
    await inbox.put(said("amina", "second", "m2"))
    # As the process that died left it: leased to it, the lease run out.
    async with session_factory(db)() as session, session.begin():
        first = await session.scalar(select(InboxEvent).order_by(InboxEvent.id).limit(1))
        assert first is not None
        first.status = InboxStatus.HANDLING
        first.lease_until = datetime.now(UTC) - timedelta(seconds=1)
    async with running(inbox):
        await asyncio.wait_for(both.wait(), timeout=10)
    assert order == ["first", "second"]
    assert await counts(db) == {InboxStatus.DONE: 2}
