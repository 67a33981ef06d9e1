"""``indaba run``: the one command that builds and starts a whole Indaba."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import UTC, datetime
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
        bool,
        typer.Option("--http/--no-http", help="Serve /healthz, /readyz, /metrics and webhooks."),
    ] = True,
    clock: Annotated[
        str | None,
        typer.Option(
            "--clock",
            help="Console only: start the virtual clock at this UTC time, e.g. '2027-03-01 06:00'.",
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
    run(lambda: _serve(settings, migrate, console, demo, http, start))


def _configure_logging(settings: Settings, quiet: bool = False) -> None:
    level = settings.log_level
    if quiet and "INDABA_LOG_LEVEL" not in os.environ:
        level = "WARNING"
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


async def _serve(
    settings: Settings,
    migrate: bool,
    console: bool | None,
    demo: bool,
    http: bool,
    start: datetime | None = None,
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
    clock = VirtualClock(start) if console_adapter is not None else SystemClock()
    indaba = Indaba(settings, adapters, clock=clock)
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
        if http:
            await indaba.serve_http()
        await indaba.start()
        if console_adapter is not None:
            console_adapter.attach(indaba)  # type: ignore[attr-defined]
            await indaba.settle()
            await console_adapter.run_until_done()  # type: ignore[attr-defined]
        else:
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
