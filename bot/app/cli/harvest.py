"""``indaba harvest``: a meeting's harvest (the minutes) or its brief, written to a file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TextIO

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import admin
from bot.app.cli.common import fail, in_session, read_settings
from bot.engine.texts import Texts

app = typer.Typer(no_args_is_help=True, help="Harvests of meetings.")


def _write(
    path: str, job: Callable[[AsyncSession, Texts, Callable[[str], object]], Awaitable[None]]
) -> None:
    """Run ``job`` with a writer to ``path``, which is created on the first page written
    (so an unknown meeting leaves no empty file behind)."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)
    opened: list[TextIO] = []

    def write(chunk: str) -> None:
        if not opened:
            try:
                opened.append(open(path, "w", encoding="utf-8", newline=""))  # noqa: SIM115
            except OSError as error:
                fail(f"cannot write {path}: {error.strerror}")
        opened[0].write(chunk)

    try:
        # Beside a running Indaba on SQLite, the export must not hold its writers.
        in_session(settings, lambda session: job(session, texts, write), read_only=True)
    finally:
        for file in opened:
            file.close()


@app.command("export")
def harvest_export(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="file to write (default harvest-ID.EXT)")
    ] = None,
) -> None:
    """Write a meeting's harvest (its minutes) to a Markdown, CSV or JSON file."""
    try:
        chosen = admin.HarvestFormat(fmt)
    except ValueError:
        fail("--format must be md, csv or json", 2)
    path = output or f"harvest-{meeting_id}.{chosen}"
    _write(
        path,
        lambda session, texts, write: admin.export_harvest(
            session, texts, meeting_id, chosen, write
        ),
    )
    typer.echo(f"harvest of meeting {meeting_id} written to {path}")


@app.command("brief")
def harvest_brief(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="file to write (default brief-ID.csv)")
    ] = None,
) -> None:
    """Write a meeting's brief file (every answer, who has not answered, who received,
    read or could not be reached) to a CSV file."""
    path = output or f"brief-{meeting_id}.csv"
    _write(
        path, lambda session, texts, write: admin.export_brief(session, texts, meeting_id, write)
    )
    typer.echo(f"brief of meeting {meeting_id} written to {path}")
