"""The migrations create exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import create_engine
from storage.migrate import HEAD, MIGRATIONS_DIR, head_revision, is_up_to_date, upgrade
from storage.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        ok, current, head = await is_up_to_date(engine)
        assert not ok and current is None
        await upgrade(engine)
        ok, current, head = await is_up_to_date(engine)
        assert ok and current == head
        async with engine.connect() as connection:
            diff = await connection.run_sync(_diff)
        assert diff == []
    finally:
        await engine.dispose()


def test_the_head_is_the_newest_migration() -> None:
    """The schema check reads HEAD without Alembic: it must be what Alembic finds."""
    newest = max(path.name for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    assert head_revision("sqlite://") == HEAD == newest.split("_")[0]


async def test_a_database_at_an_earlier_head_upgrades_to_this_one(database_url: str) -> None:
    """Databases already in use stand at the heads earlier versions shipped (0011 among
    them, two revisions that changed nothing): each upgrades to the schema of the models."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0011")
        ok, current, _ = await is_up_to_date(engine)
        assert not ok and current == "0011"
        await upgrade(engine)
        assert (await is_up_to_date(engine))[0]
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()
