"""``indaba outbox``: the outbox of outgoing messages."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app import admin
from bot.app.cli.common import fail, on_database, read_settings
from bot.runtime.clock import SystemClock

app = typer.Typer(no_args_is_help=True, help="The outbox of outgoing messages.")


@app.command("retry")
def outbox_retry(
    message_id: Annotated[int | None, typer.Option("--id", help="one message")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead message")] = False,
) -> None:
    """Put dead (or unreachable) messages back in the queue."""
    if message_id is None and not dead:
        fail("give --id N or --dead", 2)
    queued = on_database(
        read_settings(),
        lambda sessions: admin.retry_messages(sessions, SystemClock().now(), message_id),
    )
    typer.echo(f"{queued} message(s) queued again")
