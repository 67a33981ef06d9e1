"""The durable inbox: every inbound event is stored before the platform is answered.

An adapter's request handler verifies and normalises a request, then awaits
:meth:`Inbox.put` for each event; only when that returns does the platform get its
2xx. ``put`` de-duplicates (a platform's re-delivery is stored once) and writes the
event in a short transaction; concurrent puts share one transaction (group commit),
so a burst costs a few commits, not one per request.

Workers claim stored events under a lease, like the outbox: events of one
conversation are handled strictly in order (an event is claimable only when no
earlier event of its conversation is still waiting or being handled), events of
different conversations in parallel, up to ``concurrency`` at once. Handling an
event and marking it done happen in one transaction, so a crash repeats nothing
that was committed and loses nothing that was acknowledged. A failing event is
retried with backoff and parked as ``dead`` after ``max_attempts``, where
``indaba status`` and ``/metrics`` show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import random
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot import messages
from bot.messages import InboundEvent, storable, stored_fields
from bot.runtime.clock import Clock
from bot.runtime.metrics import Metrics
from storage.models import InboxEvent, ProcessedEvent
from storage.statuses import InboxStatus

log = logging.getLogger(__name__)

# Handles one stored event inside the transaction that marks it done.
Handler = Callable[[AsyncSession, InboundEvent], Awaitable[None]]
# The key a re-delivery of an event repeats (None: the event has none).
KeyOf = Callable[[InboundEvent], "str | None"]

MAX_BACKOFF_SECONDS = 300.0
# How many puts one commit takes at most.
PUT_BATCH = 500

# -- encoding events -------------------------------------------------------------------

EVENT_TYPES: dict[str, type[InboundEvent]] = {
    cls.__name__: cls for cls in InboundEvent.__subclasses__()
}


def encode(event: InboundEvent) -> dict[str, Any]:
    """The event as JSON-ready data (``raw``, the platform's payload, is left out)."""
    return {name: _encode_value(getattr(event, name)) for name in stored_fields(type(event))}


def _encode_value(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if names := stored_fields(kind):
        return {name: _encode_value(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode_value(item) for item in value]
    return value


def decode(kind: str, data: dict[str, Any]) -> InboundEvent:
    """The event :func:`encode` wrote; unknown fields (from a newer version) are ignored."""
    cls = EVENT_TYPES[kind]
    event = _decode_dataclass(cls, data)
    assert isinstance(event, InboundEvent)
    return event


_FIELDS: dict[type[Any], tuple[tuple[str, Any], ...]] = {}


def _fields_of(cls: type[Any]) -> tuple[tuple[str, Any], ...]:
    """A dataclass's stored fields with their types (resolved once per class: resolving
    the annotations took more of a handled event's time than decoding it)."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, vars(messages))
        found = _FIELDS[cls] = tuple((name, hints[name]) for name in stored_fields(cls))
    return found


def _decode_dataclass(cls: type[Any], data: dict[str, Any]) -> Any:
    values = {
        name: _decode_value(hint, data[name]) for name, hint in _fields_of(cls) if name in data
    }
    return cls(**values)


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode_value(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        (item, *_) = typing.get_args(hint) or (Any,)
        return tuple(_decode_value(item, v) for v in value)
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _decode_dataclass(hint, value)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
    return value


# -- the inbox -------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Put:
    event: InboundEvent
    key: str | None
    done: asyncio.Future[bool]


class Inbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        metrics: Metrics,
        handler: Handler,
        key_of: KeyOf,
        *,
        concurrency: int = 8,
        max_attempts: int = 6,
        lease_seconds: float = 120.0,
        poll_interval: float = 0.5,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        self._handler = handler
        self._key_of = key_of
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_interval = poll_interval
        # Leases run out only when a process died holding them: looked for once a
        # second (a quarter of the lease, if shorter), not at every claim.
        self._stale_every = min(self._lease / 4, timedelta(seconds=1))
        self._stale_checked: datetime | None = None
        self._queue: asyncio.Queue[_Put] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        # Handling tasks in flight, the workers' and drain()'s alike.
        self._running: set[asyncio.Task[None]] = set()
        # Held from a claim until its rows are in ``_running``: drain() then never finds
        # rows the workers have leased but not yet started, and returns before they ran.
        self._claiming = asyncio.Lock()
        self._slots = asyncio.Semaphore(concurrency)

    # -- storing (the request handler's side) -----------------------------------------

    async def put(self, event: InboundEvent) -> bool:
        """Store ``event``; False when it was a re-delivery of one stored before.

        Returns once the event is committed: the caller may then answer the platform.
        Raises when the database cannot take it (the platform should retry).
        """
        # What no database can store (a lone surrogate, NUL) is cleaned before the key
        # is made; an id no platform sends raises EventRejected (the adapter answers 400).
        event = storable(event)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="inbox-writer")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Put(event, self._key_of(event), done))
        return await done

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < PUT_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                stored = await self._store(batch)
            except Exception as error:
                log.warning("could not store %s inbound events: %s", len(batch), error)
                for put in batch:
                    if not put.done.done():
                        put.done.set_exception(error)
                continue
            for put, new in zip(batch, stored, strict=True):
                if not put.done.done():
                    put.done.set_result(new)
            if any(stored):
                self.wakeup.set()

    async def _store(self, batch: Sequence[_Put]) -> list[bool]:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            keys = list(dict.fromkeys(put.key for put in batch if put.key is not None))
            new_keys: set[str] = set()
            if keys:
                inserter = (
                    pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
                )
                table: Any = ProcessedEvent.__table__
                result = await session.execute(
                    inserter(table)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(table.c.key),
                    [{"key": key, "received_at": now} for key in keys],
                )
                new_keys = {row[0] for row in result.all()}
            stored: list[bool] = []
            rows: list[dict[str, Any]] = []
            for put in batch:
                new = put.key is None or put.key in new_keys
                # The same key twice in one batch: only the first is new.
                if put.key is not None:
                    new_keys.discard(put.key)
                stored.append(new)
                if new:
                    rows.append(self._row(put.event, now))
            if rows:
                # The table's own insert: the ORM's bulk insert added its bookkeeping
                # to every acknowledgement's commit.
                inbox: Any = InboxEvent.__table__
                await session.execute(insert(inbox), rows)
        for put, new in zip(batch, stored, strict=True):
            kind = type(put.event).__name__
            self._metrics.inbound.labels(put.event.platform, kind).inc()
            if not new:
                log.debug("ignored re-delivered %s %s", kind, put.event.message_id)
        return stored

    @staticmethod
    def _row(event: InboundEvent, now: datetime) -> dict[str, Any]:
        return {
            "platform": event.platform,
            "conversation_key": f"{event.platform}:{event.conversation.id}"[:200],
            "kind": type(event).__name__,
            "payload": encode(event),
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
        }

    # -- handling (the workers' side) -------------------------------------------------

    async def run(self) -> None:
        """Claim and handle events until :meth:`stop`; ``concurrency`` at once."""
        try:
            while not self._stopping.is_set():
                self.wakeup.clear()
                # Claim ahead (up to twice the handlers) so a claim's cost is shared.
                room = 2 * self._concurrency - len(self._running)
                rows: Sequence[InboxEvent] = []
                if room > 0:
                    async with self._claiming:
                        try:
                            rows = await self._claim(room)
                        except Exception:
                            log.exception("claiming inbound events failed; trying again shortly")
                        for row in rows:
                            self._spawn(row)
                if rows and len(rows) == room:
                    # Full: wait for a handler to finish before claiming more.
                    await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
                    continue
                # Not full: nothing more was due. What is stored from now on sets the
                # wakeup (cleared before the claim, so nothing stored during it is
                # missed), and so does a handler finishing, which may let the next event
                # of its conversation be claimed; events stored by another process are
                # found at the next poll.
                waiters = {
                    asyncio.ensure_future(self.wakeup.wait()),
                    asyncio.ensure_future(self._stopping.wait()),
                }
                await asyncio.wait(
                    waiters | self._running,
                    timeout=self._poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if self._running:
                await asyncio.wait(set(self._running), timeout=10)

    def _spawn(self, row: InboxEvent) -> None:
        task = asyncio.create_task(self._handle_one(row), name=f"inbox-{row.id}")
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        # An event handled may let the next of its conversation be claimed: wake the
        # loop. Waiting on the running tasks alone missed a handler that finished while
        # the loop was claiming, and a long queue in one conversation then waited the
        # poll interval (0.5 s) for each of its events.
        self.wakeup.set()

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, max_passes: int = 10_000) -> int:
        """Handle every event that is due now, in order, including those the workers
        are handling already (for the console and tests)."""
        total = 0
        for _ in range(max_passes):
            async with self._claiming:
                rows = await self._claim(2 * self._concurrency)
                for row in rows:
                    self._spawn(row)
            total += len(rows)
            if not rows and not self._running:
                break
            if self._running:
                await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
        return total

    async def aclose(self) -> None:
        self.stop()
        if self._writer is not None:
            # Let puts already queued be committed before the writer goes.
            for _ in range(100):
                if self._queue.empty():
                    break
                await asyncio.sleep(0.01)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def _claim(self, limit: int) -> Sequence[InboxEvent]:
        """Up to ``limit`` events to handle, oldest first, leased to this process.

        Events whose lease ran out (looked for once a second) are a lookup on the status
        index, sorted after (an expression to order by, so that no database walks the
        whole table in id order, handled events included, to save that sort); events due
        are read from ix_inbox_pending in id order until the batch is full. The claim
        costs the batch and what stands in its way (events of a conversation whose
        earlier event still waits), not the queue nor the inbox's history.
        """
        now = self._clock.now()
        earlier = aliased(InboxEvent)
        # Written as ix_inbox_waiting's condition (literal values, not parameters), so
        # that both databases read it from that index: the waiting events of the
        # conversation, not its history of handled ones (which made a long queue in one
        # busy conversation cost each claim the square of its length).
        waiting = exists().where(
            earlier.conversation_key == InboxEvent.conversation_key,
            earlier.id < InboxEvent.id,
            earlier.status.in_([literal_column("'pending'"), literal_column("'handling'")]),
        )
        stale = and_(InboxEvent.status == InboxStatus.HANDLING, InboxEvent.lease_until < now)
        async with self._sessions() as session, session.begin():
            rows: list[InboxEvent] = []
            # Due events from ix_inbox_pending, in id order, read until the batch is
            # full: its condition written out (a literal value, not a parameter) so
            # that PostgreSQL sees the index serves it, and the time as an expression
            # no index serves, so that it does not read every pending event from
            # ix_inbox_due or the primary key and sort them (9 to 38 ms a claim with
            # 12,000 waiting).
            pending = InboxEvent.status == literal_column("'pending'")
            attempt_at = func.coalesce(InboxEvent.next_attempt_at, InboxEvent.next_attempt_at)
            # Checked again by id in the UPDATE (SQLite has no SKIP LOCKED), with the
            # status an expression too, so that the rows are found by their ids.
            status = InboxEvent.status + ""
            due_now = and_(status == InboxStatus.PENDING, attempt_at <= now)
            claimable_by_id = or_(
                due_now, and_(status == InboxStatus.HANDLING, InboxEvent.lease_until < now)
            )
            # A leased event stands first in its conversation (it was claimed so): no
            # need to look for earlier ones, which would make SQLite scan the table.
            stale_rows = select(InboxEvent).where(stale).order_by(InboxEvent.id + 0)
            due_rows = select(InboxEvent).order_by(InboxEvent.id)
            if session.get_bind().dialect.name == "sqlite":
                # SQLite, with no statistics of the table, would take ix_inbox_due for
                # the status and sort what it found: it walks the primary key instead,
                # from the oldest pending event on (the status an expression, so that
                # no index of it serves).
                oldest = select(func.min(InboxEvent.id + 0)).where(pending).scalar_subquery()
                due_rows = due_rows.where(due_now, InboxEvent.id >= oldest, ~waiting)
            else:
                due_rows = due_rows.where(pending, attempt_at <= now, ~waiting)
            lookups = [due_rows]
            if self._stale_checked is None or now - self._stale_checked >= self._stale_every:
                self._stale_checked = now
                lookups.insert(0, stale_rows)
            for lookup in lookups:
                rows.extend(
                    (
                        await session.scalars(
                            lookup.limit(limit - len(rows)).with_for_update(skip_locked=True)
                        )
                    ).all()
                )
                if len(rows) >= limit:
                    break
            rows.sort(key=lambda row: row.id)
            if not rows:
                return []
            # Checked again in the UPDATE: on SQLite there is no SKIP LOCKED.
            claimed = set(
                (
                    await session.scalars(
                        update(InboxEvent)
                        .where(InboxEvent.id.in_([row.id for row in rows]), claimable_by_id)
                        .values(status=InboxStatus.HANDLING, lease_until=now + self._lease)
                        .returning(InboxEvent.id)
                    )
                ).all()
            )
        return [row for row in rows if row.id in claimed]

    async def _handle_one(self, row: InboxEvent) -> None:
        async with self._slots:
            await self._handle(row)

    async def _handle(self, row: InboxEvent) -> None:
        try:
            event = decode(row.kind, row.payload)
        except Exception as error:
            log.warning("inbound event %s cannot be read (%s): parked as dead", row.id, error)
            await self._failed(row, f"unreadable: {error}", dead=True)
            return
        try:
            async with self._sessions() as session, session.begin():
                await self._handler(session, event)
                await session.execute(
                    update(InboxEvent)
                    .where(InboxEvent.id == row.id)
                    .values(
                        status=InboxStatus.DONE,
                        handled_at=self._clock.now(),
                        lease_until=None,
                        last_error=None,
                    )
                )
        except Exception as error:
            log.exception("failed to handle %s %s from %s", row.kind, row.id, row.platform)
            await self._failed(row, f"{type(error).__name__}: {error}")

    async def _failed(self, row: InboxEvent, error: str, *, dead: bool = False) -> None:
        attempts = row.attempts + 1
        now = self._clock.now()
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": error[:2000],
            "lease_until": None,
        }
        if dead or attempts >= self._max_attempts:
            values["status"] = InboxStatus.DEAD
            self._metrics.inbox_dead.labels(row.platform).inc()
            log.warning("inbound event %s is dead after %s attempts", row.id, attempts)
        else:
            backoff = min(0.25 * 4.0 ** (attempts - 1), MAX_BACKOFF_SECONDS)
            backoff *= random.uniform(0.75, 1.25)
            values.update(
                status=InboxStatus.PENDING, next_attempt_at=now + timedelta(seconds=backoff)
            )
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(InboxEvent).where(InboxEvent.id == row.id).values(**values)
            )


async def retry_dead(session: AsyncSession, now: datetime) -> int:
    """Give every dead inbound event another round of attempts (``indaba inbox retry``)."""
    result = await session.execute(
        update(InboxEvent)
        .where(InboxEvent.status == InboxStatus.DEAD)
        .values(status=InboxStatus.PENDING, attempts=0, next_attempt_at=now, lease_until=None)
        .returning(InboxEvent.id)
    )
    return len(result.all())
