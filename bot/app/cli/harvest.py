"""``indaba harvest``: a meeting's harvest written to a file."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app import admin
from bot.app.cli.common import fail, in_session, read_settings
from bot.engine.texts import Texts

app = typer.Typer(no_args_is_help=True, help="Harvests of meetings.")


@app.command("export")
def harvest_export(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="file to write (default harvest-ID.EXT)")
    ] = None,
) -> None:
    """Write a meeting's harvest to a Markdown, CSV or JSON file."""
    try:
        chosen = admin.HarvestFormat(fmt)
    except ValueError:
        fail("--format must be md, csv or json", 2)
    settings = read_settings()
    texts = Texts(settings.prompts_dir)
    content = in_session(
        settings, lambda session: admin.export_harvest(session, texts, meeting_id, chosen)
    )
    path = output or f"harvest-{meeting_id}.{chosen}"
    try:
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(content)
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror}")
    typer.echo(f"harvest of meeting {meeting_id} written to {path}")
