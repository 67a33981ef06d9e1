"""``indaba status``: what Indaba holds and what it will do next."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import admin
from bot.app.cli.common import on_database, read_settings
from bot.runtime.clock import SystemClock


def status() -> None:
    """Communities, next timetable steps, outbox depth and dead messages."""
    settings = read_settings()
    clock = SystemClock()

    async def report(sessions: async_sessionmaker[AsyncSession]) -> str:
        timetable = admin.planning_timetable(sessions, settings, clock)
        lines = [await admin.describe(sessions, timetable, clock.now())]
        async with sessions() as session:
            dead = await admin.dead_messages(session)
            dead_events = await admin.dead_events(session)
        if dead:
            lines.append(
                "dead or unreachable messages (newest first; retry with 'indaba outbox retry'):"
            )
            lines.extend(
                f"  {row.id}\t{row.status}\t{row.platform}:{row.conversation_id}"
                f"\t{row.attempts} attempts\t{(row.last_error or '')[:80]}"
                for row in dead
            )
        if dead_events:
            lines.append("dead inbound events (retry with 'indaba inbox retry'):")
            lines.extend(
                f"  {row.id}\t{row.platform}\t{row.kind}\t{row.attempts} attempts"
                f"\t{(row.last_error or '')[:80]}"
                for row in dead_events
            )
        return "\n".join(lines)

    typer.echo(on_database(settings, report))
