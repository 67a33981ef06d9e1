"""Which replica leads what: one process runs the timetable (and long-polls Telegram).

Several ``indaba run`` processes may share one PostgreSQL database. Work that must
have one driver — the timetable's scheduler, Telegram's ``getUpdates`` (a second poller
gets 409 Conflict) — is led by the process holding a PostgreSQL advisory lock named
after it, on a connection kept open while it leads. If the leader dies its connection
closes, PostgreSQL releases the lock, and another process takes over at its next try
(every ``retry_seconds``, 5 by default: well within 30 s). On SQLite, which one process
uses, the process always leads.

Every process also writes a heartbeat row in ``replicas`` with what it leads, which
``indaba status`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime.clock import Clock
from storage.bulk import insert_ignore
from storage.models import Replica

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]

# A replica not seen for this long is gone (its row is removed by the others).
GONE_AFTER = timedelta(minutes=5)


class Role:
    """One thing to lead: ``on_elected`` when this process takes it, ``on_deposed`` when
    it loses it (its connection broke) or stops."""

    def __init__(self, name: str, on_elected: Callback, on_deposed: Callback) -> None:
        self.name = name
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.leading = asyncio.Event()
        self._connection: AsyncConnection | None = None
        # The server process holding the lock: a different one means a reconnection.
        self._backend: int | None = None


class Leadership:
    def __init__(
        self,
        db: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        retry_seconds: float = 5.0,
        heartbeat_seconds: float = 10.0,
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._clock = clock
        self._retry = retry_seconds
        self._heartbeat = heartbeat_seconds
        self._roles: dict[str, Role] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.replica_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._started_at: datetime | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes may share the database (PostgreSQL)."""
        return self._db.dialect.name == "postgresql"

    def role(self, name: str, on_elected: Callback, on_deposed: Callback) -> Role:
        role = Role(name, on_elected, on_deposed)
        self._roles[name] = role
        return role

    def leads(self) -> list[str]:
        return sorted(name for name, role in self._roles.items() if role.leading.is_set())

    async def start(self) -> None:
        """Try every role once (so a lone process leads at once), then keep trying."""
        self._started_at = self._clock.now()
        await self._round()
        self._task = asyncio.create_task(self._loop(), name="leadership")

    async def aclose(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for role in self._roles.values():
            await self._depose(role)
        with contextlib.suppress(Exception):
            async with self._sessions() as session, session.begin():
                await session.execute(delete(Replica).where(Replica.id == self.replica_id))

    async def _loop(self) -> None:
        waited = 0.0
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._retry)
            if self._stopping.is_set():
                return
            waited += self._retry
            try:
                await self._round(heartbeat=waited >= self._heartbeat)
            except Exception:
                log.exception("leadership round failed; trying again")
            if waited >= self._heartbeat:
                waited = 0.0

    async def _round(self, *, heartbeat: bool = True) -> None:
        for role in self._roles.values():
            if role.leading.is_set():
                if not await self._still_holds(role):
                    log.warning("lost the lead of %s (database connection broken)", role.name)
                    await self._depose(role)
            else:
                await self._try_lead(role)
        if heartbeat:
            await self._beat()

    async def _try_lead(self, role: Role) -> None:
        if not self.shared:
            role.leading.set()
        else:
            connection = await self._db.connect()
            try:
                got, backend = (
                    await connection.execute(
                        # Keyed by schema too: deployments sharing a database in
                        # schemas of their own must not lead each other's timetable.
                        text(
                            "SELECT pg_try_advisory_lock("
                            "hashtextextended(current_schema() || ':' || :name, 0)),"
                            " pg_backend_pid()"
                        ),
                        {"name": f"indaba:{role.name}"},
                    )
                ).one()
                # Leave no transaction open on the held connection.
                await connection.commit()
            except Exception:
                await connection.close()
                raise
            if not got:
                await connection.close()
                return
            role._connection, role._backend = connection, backend
            role.leading.set()
        log.info("this process leads %s", role.name)
        await role.on_elected()

    async def _still_holds(self, role: Role) -> bool:
        if role._connection is None:
            return True
        try:
            backend = await role._connection.scalar(text("SELECT pg_backend_pid()"))
            await role._connection.commit()
        except Exception:
            return False
        # SQLAlchemy reconnects a broken connection silently: the lock did not follow.
        return bool(backend == role._backend)

    async def _depose(self, role: Role) -> None:
        if not role.leading.is_set():
            return
        role.leading.clear()
        try:
            await role.on_deposed()
        finally:
            connection, role._connection = role._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):
                    # Discard it rather than return it to the pool: the lock goes with it.
                    await connection.invalidate()
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _beat(self) -> None:
        now = self._clock.now()
        leads = ",".join(self.leads())[:200]
        row: dict[str, object] = {
            "id": self.replica_id,
            "host": socket.gethostname()[:200],
            "pid": os.getpid(),
            "started_at": self._started_at or now,
            "seen_at": now,
            "leads": leads,
        }
        async with self._sessions() as session, session.begin():
            if not await insert_ignore(session, Replica, [row], ["id"]):
                replica = await session.get(Replica, self.replica_id)
                if replica is not None:
                    replica.seen_at = now
                    replica.leads = leads
            await session.execute(delete(Replica).where(Replica.seen_at < now - GONE_AFTER))
