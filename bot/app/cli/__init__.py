"""The ``indaba`` command line: one module per command group.

``indaba run`` builds and starts a whole Indaba; every other command opens only the
database and works through :mod:`bot.app.admin`.
"""

from __future__ import annotations

import typer

from bot.app.cli import (
    audit,
    community,
    db,
    harvest,
    inbox,
    meeting,
    member,
    outbox,
    pack,
    run,
    status,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Indaba: keep a Community of Practice talking between meetings.",
)
app.command("run")(run.run_indaba)
app.command("status")(status.status)
app.command("audit")(audit.audit)
app.command("moderate")(audit.moderate)
app.add_typer(db.app, name="db")
app.add_typer(community.app, name="community")
app.add_typer(meeting.app, name="meeting")
app.add_typer(outbox.app, name="outbox")
app.add_typer(inbox.app, name="inbox")
app.add_typer(member.app, name="member")
pack.register(harvest.app)
app.add_typer(harvest.app, name="harvest")
app.add_typer(pack.wall_app, name="wall")


def main() -> None:
    app()
