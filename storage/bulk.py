"""Bulk writes that skip rows whose unique key is already stored, on either database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

# Both drivers cap the number of bound parameters of one statement.
CHUNK = 500


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
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        statement = (
            inserter(table)
            .values(list(rows[start : start + CHUNK]))
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
            .returning(table.c.id)
        )
        ids.extend(row[0] for row in (await session.execute(statement)).all())
    return ids
