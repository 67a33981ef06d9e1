"""``indaba db``: the database schema."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.cli.common import on_engine, read_settings
from storage.migrate import upgrade

app = typer.Typer(no_args_is_help=True, help="Database schema.")


@app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    on_engine(read_settings(), upgrade, check=False)
    typer.echo("database schema is up to date")


@app.command("check")
def db_check() -> None:
    """Exit 1 when the database schema is behind."""
    on_engine(read_settings(), _nothing)
    typer.echo("database schema is up to date")


async def _nothing(_db: AsyncEngine) -> None:
    """The schema check that :func:`on_engine` does first is the whole job."""
