"""``indaba run``: the one command that builds and starts a whole Indaba."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.adapter import SettingsError
from bot.app.cli.common import Fatal, fail, read_settings, run
from bot.app.settings import Settings
from bot.runtime.clock import SystemClock, VirtualClock


def run_indaba(
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Upgrade the database schema first.")
    ] = False,
    console: Annotated[
        bool | None,
        typer.Option(
            "--console/--no-console",
            help="Force the console on or off (default: on when no platform is configured).",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="Create a demo community in the console when the database is empty.",
        ),
    ] = True,
    http: Annotated[
        bool | None,
        typer.Option(
            "--http/--no-http",
            help="Serve /healthz, /readyz, /metrics, the pages and webhooks (default: on with a "
            "platform configured; off for the console alone unless INDABA_CONSOLE_HTTP=true).",
        ),
    ] = None,
    handlers: Annotated[
        int,
        typer.Option(
            "--handlers",
            min=0,
            max=32,
            help="PostgreSQL: handle inbound events in N extra processes, so acknowledging "
            "webhooks never waits behind the engine's work (0: in this process).",
        ),
    ] = 0,
    handle_only: Annotated[
        bool, typer.Option("--handle-only", hidden=True, help="Be one of those processes.")
    ] = False,
    clock: Annotated[
        str | None,
        typer.Option(
            "--clock",
            help="Console only: start the virtual clock at this UTC time, e.g. '2027-03-01 06:00' "
            "(default: where the console of this data directory left it, else now).",
        ),
    ] = None,
) -> None:
    """Run Indaba: every configured platform adapter, or the console when none is."""
    settings = read_settings()
    start = None
    if clock is not None:
        try:
            start = datetime.fromisoformat(clock.replace(" ", "T")).replace(tzinfo=UTC)
        except ValueError:
            fail(f"--clock: not a date and time: {clock!r} (try '2027-03-01 06:00')", 2)
    if handle_only:
        run(lambda: _handle_only(settings), server=True)
        return
    run(lambda: _serve(settings, migrate, console, demo, http, start, handlers), server=True)


def _configure_logging(settings: Settings, quiet: bool = False) -> None:
    level = settings.log_level
    if quiet and "INDABA_LOG_LEVEL" not in os.environ:
        level = "WARNING"
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # At DEBUG the SQLite driver quotes every statement's parameters: members' texts and
    # the files of the outbox (a /mydata export travels there as a data: URL).
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


async def _serve(
    settings: Settings,
    migrate: bool,
    console: bool | None,
    demo: bool,
    http: bool | None,
    start: datetime | None = None,
    handlers: int = 0,
) -> None:
    # Imported here so that the admin commands do not load the HTTP server and adapters.
    from bot.app.admin import SchemaBehind
    from bot.app.demo import seed_demo
    from bot.app.plugins import CONSOLE, configured_adapters
    from bot.app.wiring import Indaba

    try:
        adapters = configured_adapters(settings, console=console)
    except SettingsError as error:
        raise Fatal(str(error)) from None
    console_adapter = next((a for a in adapters if a.name == CONSOLE), None)
    _configure_logging(settings, quiet=console_adapter is not None)
    if http is None:
        # Webhooks and the pages need the server (with no console, it is what runs); the
        # console alone does not.
        http = (
            console_adapter is None
            or any(a.name != CONSOLE for a in adapters)
            or settings.console_http
        )
    if http:
        check_port(settings.http_host, settings.http_port)
    clock: VirtualClock | SystemClock = SystemClock()
    saved = ConsoleClock(settings.data_dir)
    if console_adapter is not None:
        resumed = saved.read() if start is None else None
        clock = VirtualClock(start or resumed)
        if resumed is not None:
            print(
                f"The console's clock goes on from {resumed:%a %d %b %Y %H:%M} UTC, "
                "where it was left."
            )
        clock.on_advance(saved.write)
    indaba = Indaba(settings, adapters, clock=clock)
    children: list[asyncio.subprocess.Process] = []
    try:
        try:
            await indaba.check_schema(migrate)
        except SchemaBehind as error:
            raise Fatal(str(error)) from None
        if console_adapter is not None and demo and await seed_demo(indaba.sessions, clock):
            print(
                "A demo community is ready: 'Demo CoP', group #demo, facilitator fatima, "
                "members amina, kwame, thandi, a meeting in 10 days."
            )
        if handlers and indaba.db.dialect.name != "postgresql":
            raise Fatal("--handlers needs PostgreSQL (SQLite has one writer: use one process)")
        if http:
            await indaba.serve_http()
        await indaba.start(handle=not handlers)
        # What start-up made (modules, mappers, compiled statements) lives as long as the
        # process: kept out of the collector's full passes, whose pauses were the tail of
        # the acknowledgements (benchmarks/inbound.py --serving-only: p99 266-301 ms with
        # them, 115-129 ms without).
        gc.collect()
        gc.freeze()
        children.extend([await _spawn_handler() for _ in range(handlers)])
        if console_adapter is not None:
            console_adapter.attach(indaba)  # type: ignore[attr-defined]
            await indaba.settle()
            await console_adapter.run_until_done()  # type: ignore[attr-defined]
        else:
            await _wait_for_signal()
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        for child in children:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.wait(), 15)
        if isinstance(clock, VirtualClock):
            await saved.write(clock.now())
        await indaba.aclose()


def check_port(host: str, port: int) -> None:
    """Stop with one line when the HTTP port is taken (rather than the server's traceback)."""
    if port == 0:
        return
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise Fatal(
                f"port {port} on {host} is already in use: stop what listens there, choose "
                "another with INDABA_HTTP_PORT, or run without --http"
            ) from None
        raise Fatal(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


class ConsoleClock:
    """The console's virtual time, kept in the data directory between runs, so a restart
    goes on from where the clock was (a harvested meeting stays in the past)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "console-clock"

    def read(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    async def write(self, now: datetime) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(now.astimezone(UTC).isoformat(), encoding="utf-8")


async def _spawn_handler() -> asyncio.subprocess.Process:
    """One extra process handling inbound events (same settings, same database)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--handle-only", "--no-console"
    )


async def _handle_only(settings: Settings) -> None:
    """Handle stored inbound events until SIGTERM: no HTTP, no platform connection."""
    from bot.app.plugins import configured_adapters
    from bot.app.wiring import Indaba

    _configure_logging(settings)
    # Handling can wait (every event is stored); acknowledging cannot: on a machine with
    # few cores the process that answers the platforms gets the CPU first.
    os.nice(settings.handler_niceness)
    # The adapters are built (their capabilities shape what the engine writes) but never
    # started: this process sends nothing and receives nothing.
    indaba = Indaba(settings, configured_adapters(settings, console=False), clock=SystemClock())
    try:
        await indaba.start(deliver=False, schedule=False, handle=True, adapters=False)
        await _wait_for_signal()
    finally:
        await indaba.aclose()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
