"""Bulk writes that skip rows whose unique key is already stored, on either database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

# Rows per round trip; SQLAlchemy splits further to stay within the drivers' limits.
CHUNK = 1000


async def insert_ignore(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
) -> list[int]:
    """Insert ``rows``, skipping those that collide on ``conflict_columns``.

    Returns the ids of the rows actually inserted.
    """
    if not rows:
        return []
    bind = session.get_bind()
    inserter = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    table: Any = model.__table__
    statement = (
        inserter(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(table.c.id)
    )
    ids: list[int] = []
    # An executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    # with a compiled statement it caches, instead of compiling one huge VALUES list.
    for start in range(0, len(rows), CHUNK):
        result = await session.execute(statement, list(rows[start : start + CHUNK]))
        ids.extend(row[0] for row in result.all())
    return ids
