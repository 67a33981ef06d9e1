"""``indaba harvest link|poster`` and ``indaba wall link``: the meeting pack from the
command line (signed links to its pages, and a meeting's poster as a file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.admin import AdminError
from bot.app.cli.common import fail, in_session, on_database, read_settings
from bot.app.web.routes import Pack
from bot.app.web.secret import links_for
from bot.app.web.views import meeting_of
from bot.engine.services.links import Page
from bot.engine.services.onboarding import find_community
from bot.engine.texts import Texts
from bot.runtime.clock import SystemClock

wall_app = typer.Typer(no_args_is_help=True, help="The wall of passions and knowledge.")

Days = Annotated[
    int | None,
    typer.Option("--days", min=1, max=3650, help="how long the link works (default 30)"),
]


def harvest_link(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    days: Days = None,
) -> None:
    """Print a signed link to a meeting's harvest page (its agenda and poster too)."""
    settings = read_settings()
    links = links_for(settings)

    async def check(session: AsyncSession) -> None:
        if await meeting_of(session, meeting_id) is None:
            raise AdminError(f"no meeting with id {meeting_id} (see 'indaba meeting list')")

    in_session(settings, check)
    expires = links.expiry(datetime.now(UTC), days)
    typer.echo(links.meeting(meeting_id, expires, Page.HARVEST))


@wall_app.command("link")
def wall_link(
    community: Annotated[str, typer.Argument(help="the community's name or id")],
    days: Days = None,
) -> None:
    """Print a signed link to a community's wall page (and its journey)."""
    settings = read_settings()
    links = links_for(settings)

    async def find(session: AsyncSession) -> int:
        found = await find_community(session, community)
        if found is None:
            raise AdminError(f"no community named {community!r}")
        return found.id

    community_id = in_session(settings, find)
    expires = links.expiry(datetime.now(UTC), days)
    typer.echo(links.community(community_id, expires, Page.WALL))


def harvest_poster(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="FILE.pdf or FILE.png", dir_okay=False)
    ],
) -> None:
    """Write a meeting's one-page A3 poster to a PDF or PNG file."""
    suffix = output.suffix.lower()
    if suffix not in (".pdf", ".png"):
        fail("--output must end in .pdf or .png", 2)
    settings = read_settings()
    texts = Texts(settings.prompts_dir)

    async def make(sessions: async_sessionmaker[AsyncSession]) -> bytes:
        pack = Pack(
            sessions, texts, SystemClock(), links_for(settings), settings.prompts_dir / "web"
        )
        async with sessions() as session:
            if await meeting_of(session, meeting_id) is None:
                raise AdminError(f"no meeting with id {meeting_id} (see 'indaba meeting list')")
        data, _ = await pack.poster(meeting_id, png=suffix == ".png")
        return data

    data = on_database(settings, make)
    try:
        output.write_bytes(data)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")
    typer.echo(f"poster of meeting {meeting_id} written to {output}")


def register(harvest: typer.Typer) -> None:
    """Add ``link`` and ``poster`` to the ``indaba harvest`` group."""
    harvest.command("link")(harvest_link)
    harvest.command("poster")(harvest_poster)
