"""The migrations create exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import create_engine
from storage.migrate import is_up_to_date, upgrade
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
