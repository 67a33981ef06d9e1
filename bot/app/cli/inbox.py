"""``indaba inbox``: inbound events stored before they were acknowledged."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app import admin
from bot.app.cli.common import fail, on_database, read_settings
from bot.runtime.clock import SystemClock

app = typer.Typer(no_args_is_help=True, help="The inbox of inbound events.")


@app.command("retry")
def inbox_retry(
    event_id: Annotated[int | None, typer.Option("--id", help="one event")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead event")] = False,
) -> None:
    """Give dead inbound events another round of attempts."""
    if event_id is None and not dead:
        fail("give --id N or --dead", 2)
    queued = on_database(
        read_settings(),
        lambda sessions: admin.retry_events(sessions, SystemClock().now(), event_id),
    )
    typer.echo(f"{queued} event(s) queued again")
