"""``indaba meeting``: meetings and workshops, planned, listed, moved, cancelled, and
their calendar invitation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import admin
from bot.app.cli.common import in_session, on_database, read_settings
from bot.engine.services import meetings
from bot.engine.services.meetings import MeetingKind
from bot.engine.services.messenger import Messenger
from bot.engine.services.questions import QuestionService
from bot.engine.texts import Texts
from bot.runtime.clock import SystemClock
from bot.runtime.outbox import Outbox
from storage.models import Community, Identity, Meeting

app = typer.Typer(no_args_is_help=True, help="Meetings and workshops.")

MeetingId = Annotated[int, typer.Argument(help="the meeting's number (see 'indaba meeting list')")]


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


def _line(meeting: Meeting, status: bool) -> str:
    """id, community, kind, start (UTC), title; with ``status``, scheduled or cancelled."""
    columns = [
        str(meeting.id),
        str(meeting.community_id),
        meeting.kind,
        meeting.starts_at.isoformat(),
        meeting.title,
    ]
    if status:
        columns.append("cancelled" if meetings.is_cancelled(meeting) else meeting.status)
    return "\t".join(columns)


@app.command("list")
def meeting_list(
    everything: Annotated[
        bool, typer.Option("--all", help="past and cancelled meetings too")
    ] = False,
) -> None:
    """List meetings still to come: id, community, kind, start (UTC), title; with --all,
    every meeting, past and cancelled ones too, and its status."""
    now = SystemClock().now()

    async def job(session: AsyncSession) -> list[Meeting]:
        return list(
            await meetings.meetings_of(
                session, since=None if everything else now, cancelled=everything
            )
        )

    found = in_session(read_settings(), job)
    for m in found:
        typer.echo(_line(m, everything))
    if not found:
        typer.echo("no meetings" if everything else "no meetings ahead")


async def _find(session: AsyncSession, meeting_id: int) -> tuple[Meeting, Community]:
    meeting = await session.get(Meeting, meeting_id)
    community = await session.get(Community, meeting.community_id) if meeting else None
    if meeting is None or community is None:
        raise admin.AdminError(f"no meeting with id {meeting_id} (see 'indaba meeting list')")
    return meeting, community


async def _messenger(session: AsyncSession, community: Community, texts: Texts) -> Messenger:
    """Messages for the members, written to the outbox for ``indaba run`` to deliver on
    each platform a member of the community is on."""
    platforms = (
        await session.scalars(
            select(Identity.platform).where(Identity.community_id == community.id).distinct()
        )
    ).all()
    return Messenger(Outbox(SystemClock(), {}), texts, sorted(platforms))


@app.command("cancel")
def meeting_cancel(meeting_id: MeetingId) -> None:
    """Cancel a meeting: members are told, and nothing more is sent for it."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)

    async def job(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session, session.begin():
            meeting, community = await _find(session, meeting_id)
            now = SystemClock().now()
            withdrawn = await meetings.cancel_meeting(session, meeting, now)
            messenger = await _messenger(session, community, texts)
            # Notices carry calendar files: iCalendar is loaded only by the commands
            # that send or write them.
            from bot.engine.services import meeting_notices

            told = await meeting_notices.tell_cancelled(session, messenger, community, meeting, now)
            return (
                f"meeting {meeting.id} cancelled: {told} member(s) told, "
                f"{withdrawn} waiting message(s) withdrawn"
            )

    typer.echo(on_database(settings, job))


@app.command("move")
def meeting_move(
    meeting_id: MeetingId,
    at: Annotated[str, typer.Option("--at", help="'YYYY-MM-DD HH:MM' in the community's timezone")],
) -> None:
    """Move a meeting: members are told with the new invitation; its timetable follows
    and nothing already sent goes out again."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)
    date, _, clock_time = at.strip().partition(" ")

    async def job(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session, session.begin():
            meeting, community = await _find(session, meeting_id)
            now = SystemClock().now()
            starts_at = meetings.parse_local(community, date, clock_time or "00:00")
            old = await meetings.move_meeting(session, meeting, starts_at, now)
            messenger = await _messenger(session, community, texts)
            await QuestionService(messenger).follow_move(session, community, meeting, now)
            from bot.engine.services import meeting_notices

            told = await meeting_notices.tell_moved(
                session, messenger, community, meeting, old, now
            )
            return (
                f"meeting {meeting.id} moved from {old.isoformat()} to "
                f"{meeting.starts_at.isoformat()}: {told} member(s) told"
            )

    typer.echo(on_database(settings, job))


@app.command("ics")
def meeting_ics(
    meeting_id: MeetingId,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: standard output)")
    ] = None,
) -> None:
    """The meeting's calendar invitation (iCalendar, RFC 5545)."""

    async def job(session: AsyncSession) -> bytes:
        from bot.engine.services import invitations

        meeting, community = await _find(session, meeting_id)
        return invitations.ics(community, meeting, SystemClock().now())

    body = in_session(read_settings(), job)
    if output is None:
        typer.echo(body.decode("utf-8"), nl=False)
        return
    output.write_bytes(body)
    typer.echo(f"written to {output}")
