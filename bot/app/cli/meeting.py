"""``indaba meeting``: meetings and workshops."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app import admin
from bot.app.cli.common import in_session, on_database, read_settings
from bot.engine.services.meetings import MeetingKind
from bot.runtime.clock import SystemClock

app = typer.Typer(no_args_is_help=True, help="Meetings and workshops.")


@app.command("add")
def meeting_add(
    community: Annotated[str, typer.Option("--community", "-c", help="community name or id")],
    at: Annotated[str, typer.Option("--at", help="'YYYY-MM-DD HH:MM' in the community's timezone")],
    title: Annotated[str, typer.Option("--title")] = "",
    workshop: Annotated[bool, typer.Option("--workshop", help="a quarterly workshop")] = False,
) -> None:
    """Plan a meeting; its questions, reminder and brief are timetabled from it."""
    date, _, clock_time = at.strip().partition(" ")
    kind = MeetingKind.WORKSHOP if workshop else MeetingKind.MEETING
    meeting = on_database(
        read_settings(),
        lambda sessions: admin.add_meeting(
            sessions, community, date, clock_time or "00:00", title, kind, SystemClock().now()
        ),
    )
    typer.echo(f"meeting {meeting.id}: {meeting.title} at {meeting.starts_at.isoformat()}")


@app.command("list")
def meeting_list() -> None:
    """List meetings still to come."""
    now = SystemClock().now()
    ahead = in_session(read_settings(), lambda session: admin.upcoming_meetings(session, now))
    for m in ahead:
        typer.echo(f"{m.id}\t{m.community_id}\t{m.kind}\t{m.starts_at.isoformat()}\t{m.title}")
    if not ahead:
        typer.echo("no meetings ahead")
