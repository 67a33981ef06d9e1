"""Wires one Indaba process together: storage, engine, outbox, timetable, adapters, HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapter import Adapter, AdapterContext, CommandInfo, ControlError, EventSink
from bot.app import admin
from bot.app.adapter_texts import AdapterTexts
from bot.app.http import build_app
from bot.app.settings import Settings
from bot.app.web.routes import Pack
from bot.app.web.secret import links_for
from bot.engine.commands import build_registry
from bot.engine.engine import Engine, event_key
from bot.engine.services.reachability import Reachability
from bot.engine.steps import build_steps
from bot.engine.texts import Texts
from bot.messages import InboundEvent
from bot.pacing import SharedBudget, SharesBudget
from bot.runtime.budget import RedisBudget
from bot.runtime.clock import Clock, SystemClock, VirtualClock
from bot.runtime.delivery import DeliveryLoop
from bot.runtime.inbox import Inbox
from bot.runtime.leadership import Leadership
from bot.runtime.metrics import Metrics
from bot.runtime.outbox import Outbox
from bot.runtime.timetable import Timetable
from storage.db import create_engine, read_only_sessions, reader_engine, session_factory
from storage.migrate import is_up_to_date, upgrade

log = logging.getLogger(__name__)


@runtime_checkable
class Polls(Protocol):
    """An adapter that may fetch updates by long polling, which only one process of
    those sharing a token may do (Telegram answers the others 409 Conflict)."""

    name: str

    @property
    def polls(self) -> bool: ...

    def drive_polling(self) -> None: ...

    async def start_polling(self) -> None: ...

    async def stop_polling(self) -> None: ...


class Indaba:
    """One running Indaba: build with the adapters to run, then ``start()`` and ``aclose()``."""

    def __init__(
        self,
        settings: Settings,
        adapters: Sequence[Adapter],
        *,
        clock: Clock | None = None,
        db: AsyncEngine | None = None,
        budget: SharedBudget | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.db = db or create_engine(
            settings.effective_database_url, pool_size=settings.database_pool_size
        )
        self.sessions = session_factory(self.db)
        self._reader: AsyncEngine | None = None
        self.metrics = Metrics()
        self.texts = Texts(settings.prompts_dir)
        self.adapters = {adapter.name: adapter for adapter in adapters}
        # Replicas share each token's rate budget on Redis when it is configured.
        if budget is None and settings.redis_url:
            budget = RedisBudget(settings.redis_url)
        self.budget = budget
        if budget is not None:
            for adapter in adapters:
                if isinstance(adapter, SharesBudget):
                    adapter.share_budget(budget)
        self.outbox = Outbox(
            self.clock, {name: a.capabilities for name, a in self.adapters.items()}
        )
        self.registry = build_registry()
        self.links = links_for(settings)
        reachability = Reachability(
            self.sessions,
            self.outbox,
            self.texts,
            self.clock,
            {name: a.capabilities for name, a in self.adapters.items()},
        )
        self.engine = Engine(
            sessions=self.sessions,
            clock=self.clock,
            texts=self.texts,
            outbox=self.outbox,
            metrics=self.metrics,
            platforms=list(self.adapters),
            registry=self.registry,
            join_code_days=settings.join_code_days,
            links=self.links,
            reachability=reachability,
        )
        self.delivery = DeliveryLoop(
            self.sessions,
            self.adapters,
            self.outbox,
            self.clock,
            self.metrics,
            reachability,
            concurrency=settings.delivery_concurrency,
            max_attempts=settings.delivery_max_attempts,
            lease_seconds=settings.delivery_lease_seconds,
        )
        self.inbox = Inbox(
            self.sessions,
            self.clock,
            self.metrics,
            self.engine.handle_stored,
            event_key,
            # SQLite has one writer: handling in parallel would only queue on its lock.
            concurrency=1 if self.db.dialect.name == "sqlite" else settings.inbox_concurrency,
            max_attempts=settings.inbox_max_attempts,
        )
        self.leadership = Leadership(self.db, self.sessions, self.clock)
        self.timetable = Timetable(
            self.sessions,
            self.clock,
            build_steps(self.engine),
            self.metrics,
        )
        if isinstance(self.clock, VirtualClock):
            self.clock.on_advance(self.timetable.on_clock_advanced)
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._server: uvicorn.Server | None = None

    # -- lifecycle ------------------------------------------------------------------

    async def check_schema(self, migrate: bool) -> None:
        """Upgrade the schema when ``migrate``; otherwise raise ``admin.SchemaBehind``."""
        if migrate:
            current_ok, current, head = await is_up_to_date(self.db)
            if not current_ok:
                log.info("upgrading database schema %s -> %s", current, head)
                await upgrade(self.db)
            return
        await admin.check_schema(self.db)

    @property
    def sink(self) -> EventSink:
        return self.handle

    async def handle(self, event: InboundEvent) -> None:
        """Store an inbound event (the adapters' sink); workers handle it afterwards."""
        await self.inbox.put(event)

    def command_list(self) -> tuple[CommandInfo, ...]:
        """The commands every adapter offers, each with its English one-line help."""

        def summary(name: str) -> str:
            key = f"help.{name}"
            return self.texts.render(key, "en") if self.texts.has(key) else ""

        return self.registry.with_summaries(summary)

    async def start(
        self,
        *,
        deliver: bool = True,
        schedule: bool = True,
        handle: bool | None = None,
        adapters: bool = True,
    ) -> None:
        """Start the adapters, the timetable (when this process leads it), the inbox's
        handlers and the delivery loop.

        ``handle`` (default: as ``deliver``) runs inbox handlers in this process; a
        process with ``adapters=False`` and only ``handle`` is an extra handler (``indaba
        run --handlers N``): it never talks to a platform, it only turns stored events
        into outbox rows that the main process delivers.
        """
        if isinstance(self.budget, RedisBudget) and adapters:
            await self.budget.check()
        if adapters:
            texts = AdapterTexts(self.texts, self.sessions)
            context = AdapterContext(self.sink, self.command_list(), texts)
            for adapter in self.adapters.values():
                if schedule and isinstance(adapter, Polls) and adapter.polls:
                    # One process of those sharing the database polls each token.
                    adapter.drive_polling()
                    self.leadership.role(
                        f"{adapter.name}-polling", adapter.start_polling, adapter.stop_polling
                    )
                await adapter.start(context)
        if schedule:
            # One process of those sharing the database runs the timetable.
            self.leadership.role("timetable", self.timetable.start, self.timetable.aclose)
            await self.leadership.start()
        if deliver if handle is None else handle:
            self._tasks.append(asyncio.create_task(self.inbox.run(), name="inbox"))
        if deliver:
            self._tasks.append(asyncio.create_task(self.delivery.run(), name="delivery"))
        self._started = True

    def pack(self) -> Pack:
        """The meeting pack's pages. They only read, in sessions that take no lock; on
        SQLite through a connection of their own, so a download of a large brief does
        not hold the one the webhooks' acknowledgements are stored through."""
        if self._reader is None:
            self._reader = reader_engine(self.db) or self.db
        return Pack(
            read_only_sessions(self._reader),
            self.texts,
            self.clock,
            self.links,
            self.settings.prompts_dir / "web",
        )

    async def serve_http(self) -> None:
        routes = [route for adapter in self.adapters.values() for route in adapter.routes()]
        pack = self.pack()
        app = build_app(
            self.db, self.sessions, self.metrics, routes, lambda: self._started, pack.routes()
        )
        if not self.adapters:
            log.info("no platform configured: serving the meeting pack's pages and the API")
        config = uvicorn.Config(
            app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_level=self.settings.log_level.lower(),
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._tasks.append(asyncio.create_task(self._server.serve(), name="http"))

    async def http_port(self, within: float = 10.0) -> int:
        """The port the HTTP server listens on, once it does (useful with port 0)."""
        assert self._server is not None, "serve_http() first"
        for _ in range(int(within / 0.05)):
            if self._server.started and self._server.servers:
                port: int = self._server.servers[0].sockets[0].getsockname()[1]
                return port
            await asyncio.sleep(0.05)
        raise TimeoutError("the HTTP server did not start")

    async def aclose(self) -> None:
        self.inbox.stop()
        self.delivery.stop()
        if self._server is not None:
            self._server.should_exit = True
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        await self.leadership.aclose()
        await self.timetable.aclose()
        for adapter in self.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.aclose()
        await self.inbox.aclose()
        if isinstance(self.budget, RedisBudget):
            await self.budget.aclose()
        if self._reader is not None and self._reader is not self.db:
            await self._reader.dispose()
        await self.db.dispose()

    # -- operator actions (the Control protocol) -----------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    async def advance(self, delta: timedelta) -> datetime:
        if not isinstance(self.clock, VirtualClock):
            raise RuntimeError("the clock can only be moved in the console")
        now = await self.clock.advance(delta)
        await self.delivery.drain()
        return now

    async def settle(self) -> None:
        await self.inbox.drain()
        await self.timetable.run_due()
        await self.delivery.drain()

    async def create_community(
        self, name: str, timezone: str, language: str = "en"
    ) -> tuple[str, str]:
        try:
            return await admin.create_community(
                self.sessions,
                name,
                timezone,
                language,
                self.clock.now(),
                setup_days=self.settings.setup_code_days,
                join_days=self.settings.join_code_days,
            )
        except ControlError as error:
            # The operator reads why in words, in the language asked for.
            raise ControlError(error.key, self.texts.render(error.key, language)) from None

    async def describe(self) -> str:
        return await admin.describe(self.sessions, self.timetable, self.clock.now())

    async def ran_since(self, since: datetime) -> list[str]:
        return await admin.ran_since(self.sessions, since)
