"""The delivery loop: sends what the outbox holds, through the adapter that owns it.

This is the mechanism only (claim, lease, send, record). Who is reachable where, and
what to send when a member's reply window is closed or an address is unreachable, is
the engine's :class:`DeliveryPolicy` (``bot.engine.services.reachability``).

Messages are claimed in batches under a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), sent with bounded concurrency, in order within one conversation, and
marked sent with the platform's message id. If the process dies, a claimed message
whose lease runs out is sent again: only messages the platform accepted but whose
"sent" mark was not yet written can be repeated: at most one batch, ``concurrency × 4``
messages per adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import (
    Adapter,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
    WindowClosed,
)
from bot.messages import MessageRef, OutgoingMessage
from bot.runtime.clock import Clock
from bot.runtime.metrics import Metrics
from bot.runtime.outbox import Outbox, row_to_message
from storage.models import OutboxMessage
from storage.statuses import OutboxStatus

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600.0


@dataclass(slots=True)
class Arrangement:
    """What the policy decided for a claimed batch: the conversations' rows to send now,
    each list in the order to send it; rows that wait for their member's reply window
    (``hold``); rows past their useful life (``expire``); rows that wait until a time
    (``later``)."""

    send: list[list[OutboxMessage]] = field(default_factory=list)
    hold: list[OutboxMessage] = field(default_factory=list)
    expire: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    later: list[tuple[OutboxMessage, datetime, str]] = field(default_factory=list)
    # Rows that go out inside another row's message, their texts after its own in
    # order (row id → the rows it carries, none of them in ``send``); they share its
    # outcome and its platform message id.
    carried: dict[int, list[OutboxMessage]] = field(default_factory=dict)


class DeliveryPolicy(Protocol):
    """The engine's decisions the loop asks for; ``on_held`` and ``on_unreachable`` are
    called inside the transaction that records the batch, so what they write is
    committed with the outcome."""

    async def arrange(self, rows: Sequence[OutboxMessage]) -> Arrangement:
        """Which of the claimed ``rows`` go out now, in what order, and which wait or expire."""
        ...

    async def recheck_failed(self, session: AsyncSession, now: datetime) -> int:
        """Messages the platform accepted and later reported failed: queue, hold or park
        them as a refusal at send time would have. Returns how many were changed."""
        ...

    async def on_held(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> None:
        """``rows`` wait for their member's reply window: ask them to open it."""
        ...

    async def on_unreachable(
        self, session: AsyncSession, row: OutboxMessage, reason: str, now: datetime
    ) -> None:
        """The platform says ``row``'s address cannot be reached."""
        ...


class Outcome(StrEnum):
    """What became of one send."""

    SENT = "sent"
    WAIT = "wait"  # the platform asked us to wait (429): not a failure
    RETRY = "retry"  # transient: try again with backoff
    HELD = "held"  # the reply window is closed
    DEAD = "dead"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: Outcome
    ref: MessageRef | None = None
    error: str | None = None
    delay: float = 0.0


class DeliveryLoop:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, Adapter],
        outbox: Outbox,
        clock: Clock,
        metrics: Metrics,
        policy: DeliveryPolicy,
        *,
        concurrency: int = 16,
        max_attempts: int = 8,
        lease_seconds: float = 60.0,
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._adapters = adapters
        self._outbox = outbox
        self._clock = clock
        self._metrics = metrics
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_interval = poll_interval
        self._policy = policy
        self._semaphores = {name: asyncio.Semaphore(concurrency) for name in adapters}
        self._stopping = asyncio.Event()
        # One pass at a time per process (the loop and drain() may both call), so at most
        # one claimed batch is in flight: that bounds what a crash can repeat.
        self._pass = asyncio.Lock()
        # The batch the loop claimed while the last one was sending: kept here, not in
        # the loop, so drain() sends it too instead of finding those rows leased and
        # returning with them unsent (the console printed nothing of a reply then).
        self._ahead: asyncio.Task[Sequence[OutboxMessage]] | None = None
        self._rechecked = 0.0

    # -- running ---------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until :meth:`stop`. The next batch is claimed while the current one is
        sending, so the platform waits on neither the claim nor the database; outcomes
        are still recorded before the next batch is sent (the crash bound holds)."""
        try:
            while not self._stopping.is_set():
                try:
                    await self.recheck_failed()
                    async with self._pass:
                        if self._ahead is None:
                            self._outbox.wakeup.clear()
                            rows = await self._claim(self._batch_size)
                        else:
                            rows = await self._take_ahead()
                        if rows:
                            self._ahead = await self._deliver(rows, claim_ahead=True)
                except Exception:
                    log.exception("delivery pass failed; trying again shortly")
                    self._ahead = None
                    rows = []
                if not rows:
                    await self._idle()
        finally:
            if self._ahead is not None:
                await self._release(await self._take_ahead())

    async def _take_ahead(self) -> Sequence[OutboxMessage]:
        """The batch claimed ahead (none when its claim failed: nothing was claimed)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return []
        try:
            return await ahead
        except Exception:
            log.exception("claiming the next batch failed; claiming again")
            return []

    async def _idle(self) -> None:
        waiter = asyncio.ensure_future(self._outbox.wakeup.wait())
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait(
            {waiter, stopper}, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        stopper.cancel()

    async def _release(self, rows: Sequence[OutboxMessage]) -> None:
        """Rows claimed ahead but not sent when the loop stops: due again at once."""
        if not rows:
            return
        with contextlib.suppress(Exception):
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_([row.id for row in rows]),
                        OutboxMessage.status == OutboxStatus.SENDING,
                    )
                    .values(status=OutboxStatus.PENDING, lease_until=None)
                )

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, max_passes: int = 1000) -> int:
        """Deliver until nothing is due now (for the console and tests)."""
        total = await self.recheck_failed(force=True)
        for _ in range(max_passes):
            handled = await self.deliver_due()
            if handled == 0:
                break
            total += handled
        return total

    # -- one pass --------------------------------------------------------------

    async def deliver_due(self, batch_size: int | None = None) -> int:
        """Claim a batch, send it, and record every outcome in one transaction.

        Writing the outcomes of a batch together keeps the database out of the hot
        path; the price is that a crash between sending and recording repeats at most
        one batch (``concurrency × 4`` messages per adapter).
        """
        await self.recheck_failed()
        async with self._pass:
            return await self._deliver_batch(batch_size)

    async def recheck_failed(self, *, force: bool = False, every: float = 2.0) -> int:
        """Let the policy act on ``failed`` statuses reported after sending (at most every
        ``every`` seconds unless forced: it is a scan of sent rows)."""
        if not force and time.monotonic() - self._rechecked < every:
            return 0
        self._rechecked = time.monotonic()
        async with self._sessions() as session, session.begin():
            return await self._policy.recheck_failed(session, self._clock.now())

    @property
    def _batch_size(self) -> int:
        return self._concurrency * 4

    async def _deliver_batch(self, batch_size: int | None) -> int:
        rows = await self._take_ahead() if self._ahead is not None else []
        if not rows:
            rows = await self._claim(batch_size or self._batch_size)
        if not rows:
            return 0
        await self._deliver(rows)
        return len(rows)

    async def _deliver(
        self, rows: Sequence[OutboxMessage], *, claim_ahead: bool = False
    ) -> asyncio.Task[Sequence[OutboxMessage]] | None:
        """Send claimed ``rows`` and record their outcomes; with ``claim_ahead``, the next
        batch is claimed while these are sending (returned as a task)."""
        try:
            arrangement = await self._policy.arrange(rows)
        except Exception:
            log.exception("delivery policy failed; sending the batch in order")
            groups: dict[tuple[str, str], list[OutboxMessage]] = {}
            for row in rows:
                groups.setdefault((row.platform, row.conversation_id), []).append(row)
            arrangement = Arrangement(send=list(groups.values()))
        outcomes: list[tuple[OutboxMessage, _Outcome]] = []
        held: list[OutboxMessage] = list(arrangement.hold)
        released: list[tuple[OutboxMessage, float]] = []
        sending = asyncio.gather(
            *(
                self._deliver_group(group, outcomes, held, released, arrangement.carried)
                for group in arrangement.send
                if group
            )
        )
        ahead = None
        if claim_ahead:
            # Cleared before the claim: a message written after it wakes the loop again.
            self._outbox.wakeup.clear()
            ahead = asyncio.create_task(self._claim(self._batch_size), name="delivery-claim")
        try:
            await sending
        except BaseException:
            if ahead is not None:
                ahead.cancel()
            raise
        finally:
            await self._record(outcomes, held, released, arrangement.expire, arrangement.later)
        return ahead

    async def _claim(self, limit: int) -> Sequence[OutboxMessage]:
        """Up to ``limit`` due messages per adapter, oldest first, leased to this pass.

        Per adapter, so a crash repeats at most ``limit`` messages on each platform. The
        claim costs the batch, not the queue: due rows are read in id order from
        ``ix_outbox_pending`` (a partial index on pending rows: sent ones are not in it),
        stopping at ``limit``; rows whose lease ran out (few: at most the batches of
        processes that died) from ``ix_outbox_due`` on their status, sorted after.
        """
        now = self._clock.now()
        stale = and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now)
        claimed: list[OutboxMessage] = []
        async with self._sessions() as session, session.begin():
            # A database without statistics of the table (SQLite unless ANALYZE ran,
            # PostgreSQL until autovacuum came by after a large fan-out was written)
            # reaches for whichever index a condition names: ix_outbox_due for the
            # status and time (reading and sorting every due row), the platform's index
            # (every row of the platform), even to update rows it could find by id. So
            # where an index must not be used, the column is an expression no index
            # serves (``status || ''``, ``coalesce(t, t)``, ``id + 0``): due rows are read
            # from ix_outbox_pending in id order (its condition, the status, stays
            # plain), leased-out ones from ix_outbox_due, and both are updated by id.
            status = OutboxMessage.status + ""
            attempt_at = func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.next_attempt_at)
            due_now = and_(OutboxMessage.status == OutboxStatus.PENDING, attempt_at <= now)
            claimable = or_(
                and_(status == OutboxStatus.PENDING, attempt_at <= now),
                and_(status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
            )
            orders = ((stale, OutboxMessage.id + 0), (due_now, OutboxMessage.id))
            platforms = (OutboxMessage.platform + "", OutboxMessage.platform)
            for platform in self._adapters:
                rows: list[OutboxMessage] = []
                for (condition, order), platform_of in zip(orders, platforms, strict=True):
                    query = (
                        select(OutboxMessage)
                        .where(platform_of == platform, condition)
                        .order_by(order)
                        .limit(limit - len(rows))
                        .with_for_update(skip_locked=True)
                    )
                    rows.extend((await session.scalars(query)).all())
                    if len(rows) >= limit:
                        break
                if not rows:
                    continue
                # The condition is checked again in the UPDATE: on SQLite, where there is
                # no SKIP LOCKED, two claimers may read the same rows, but only one
                # updates each.
                won = set(
                    (
                        await session.scalars(
                            update(OutboxMessage)
                            .where(OutboxMessage.id.in_([row.id for row in rows]), claimable)
                            .values(status=OutboxStatus.SENDING, lease_until=now + self._lease)
                            .returning(OutboxMessage.id)
                        )
                    ).all()
                )
                claimed.extend(row for row in rows if row.id in won)
        return sorted(claimed, key=lambda row: row.id)

    async def _deliver_group(
        self,
        rows: list[OutboxMessage],
        outcomes: list[tuple[OutboxMessage, _Outcome]],
        held: list[OutboxMessage],
        released: list[tuple[OutboxMessage, float]],
        carried: Mapping[int, list[OutboxMessage]] | None = None,
    ) -> None:
        platform = rows[0].platform
        adapter = self._adapters[platform]
        async with self._semaphores[platform]:
            for index, row in enumerate(rows):
                riders = (carried or {}).get(row.id, [])
                message = row_to_message(row)
                if riders:
                    joined = "\n\n".join([message.text, *(rider.text for rider in riders)])
                    message = replace(message, text=joined)
                outcome = await self._send(adapter, message)
                outcomes.append((row, outcome))
                outcomes.extend((rider, outcome) for rider in riders)
                if outcome.status is Outcome.WAIT:
                    # Keep the conversation in order: the rest waits as long as this one.
                    released.extend((rest, outcome.delay) for rest in rows[index + 1 :])
                    return
                if outcome.status is Outcome.HELD:
                    held.extend(rows[index + 1 :])
                    return

    async def _send(self, adapter: Adapter, message: OutgoingMessage) -> _Outcome:
        platform = adapter.name
        try:
            ref = await adapter.send(message)
        except RetryAfter as error:
            self._metrics.rate_limited.labels(platform).inc()
            return _Outcome(Outcome.WAIT, error=str(error), delay=max(error.seconds, 0.05))
        except Unreachable as error:
            self._metrics.unreachable.labels(platform).inc()
            return _Outcome(Outcome.UNREACHABLE, error=str(error) or "unreachable")
        except WindowClosed as error:
            return _Outcome(Outcome.HELD, error=str(error) or "reply window closed")
        except PermanentError as error:
            self._metrics.dead.labels(platform).inc()
            return _Outcome(Outcome.DEAD, error=str(error))
        except TransientError as error:
            return _Outcome(Outcome.RETRY, error=str(error))
        except Exception as error:  # an adapter bug must not stop delivery of the rest
            log.exception("adapter %s failed to send", platform)
            return _Outcome(Outcome.RETRY, error=f"{type(error).__name__}: {error}")
        self._metrics.sent.labels(platform).inc()
        return _Outcome(Outcome.SENT, ref=ref)

    def _values(self, row: OutboxMessage, outcome: _Outcome, now: datetime) -> dict[str, object]:
        values: dict[str, object] = {"lease_until": None, "last_error": outcome.error}
        if outcome.status is Outcome.SENT:
            assert outcome.ref is not None
            values.update(
                status=OutboxStatus.SENT,
                sent_at=now,
                platform_message_id=outcome.ref.message_id,
                platform_conversation_id=outcome.ref.conversation_id,
                platform_poll_id=outcome.ref.poll_id,
            )
        elif outcome.status is Outcome.WAIT:
            values.update(
                status=OutboxStatus.PENDING, next_attempt_at=now + timedelta(seconds=outcome.delay)
            )
        elif outcome.status is Outcome.RETRY:
            attempts = row.attempts + 1
            values["attempts"] = attempts
            if attempts >= self._max_attempts:
                values["status"] = OutboxStatus.DEAD
                self._metrics.dead.labels(row.platform).inc()
                log.warning("outbox message %s is dead after %s attempts", row.id, attempts)
            else:
                self._metrics.retried.labels(row.platform).inc()
                backoff = min(2.0**attempts, MAX_BACKOFF_SECONDS) * random.uniform(0.75, 1.25)
                values.update(
                    status=OutboxStatus.PENDING, next_attempt_at=now + timedelta(seconds=backoff)
                )
        else:
            values["status"] = OutboxStatus(outcome.status.value)
        return values

    async def _record(
        self,
        outcomes: Sequence[tuple[OutboxMessage, _Outcome]],
        held: Sequence[OutboxMessage],
        released: Sequence[tuple[OutboxMessage, float]],
        expired: Sequence[tuple[OutboxMessage, str]] = (),
        later: Sequence[tuple[OutboxMessage, datetime, str]] = (),
    ) -> None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            sent = [
                {"id": row.id, **self._values(row, outcome, now)}
                for row, outcome in outcomes
                if outcome.status is Outcome.SENT
            ]
            if sent:
                # One executemany for the common case: every message accepted.
                await session.execute(update(OutboxMessage), sent)
            for row, outcome in outcomes:
                if outcome.status is Outcome.SENT and (row.options or {}).get("reopener"):
                    self._metrics.templates.labels(row.platform, str(row.community_id or "")).inc()
            for row, outcome in outcomes:
                if outcome.status is Outcome.SENT:
                    continue
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(**self._values(row, outcome, now))
                )
                if outcome.status is Outcome.UNREACHABLE:
                    await self._policy.on_unreachable(session, row, outcome.error or "", now)
                elif outcome.status is Outcome.HELD:
                    await self._policy.on_held(session, [row], now)
            if held:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([row.id for row in held]))
                    .values(status=OutboxStatus.HELD, lease_until=None)
                )
                await self._policy.on_held(session, held, now)
            for row, reason in expired:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(status=OutboxStatus.EXPIRED, lease_until=None, last_error=reason)
                )
            for row, when, reason in later:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(
                        status=OutboxStatus.PENDING,
                        lease_until=None,
                        next_attempt_at=when,
                        last_error=reason,
                    )
                )
            for row, delay in released:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(
                        status=OutboxStatus.PENDING,
                        lease_until=None,
                        next_attempt_at=now + timedelta(seconds=delay),
                    )
                )
