"""Alembic, driven from Indaba: upgrade, and check that a database is up to date.

Checking needs no Alembic: the head is :data:`HEAD` (``tests/test_migrations.py`` holds
it to the newest file in ``migrations/versions``) and the database's revision is one
row of ``alembic_version``. So the commands that only read, such as ``indaba harvest
export``, do not load Alembic (about 11 MB); ``upgrade`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# The newest migration's revision: raise it with each new file in migrations/versions.
HEAD = "0013"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    """The head as Alembic finds it in the migration files (what :data:`HEAD` must be)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision; None for a database Alembic never upgraded."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no such table: an empty database
            return None
        versions = result.scalars().all()
    return versions[0] if len(versions) == 1 else None


async def is_up_to_date(engine: AsyncEngine) -> tuple[bool, str | None, str | None]:
    current = await current_revision(engine)
    return current == HEAD, current, HEAD


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade on a connection of ``engine`` (Alembic's connection-sharing recipe)."""
    from alembic import command

    url = engine.url.render_as_string(hide_password=False)

    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)
