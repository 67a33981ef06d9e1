"""The PostgreSQL the benchmarks run on: each run in a fresh schema of it, dropped after.

``INDABA_BENCH_PG_URL`` names the server (default: the local one over TCP); a URL with
a query of its own, such as ``?host=/var/run/postgresql`` for its Unix socket, keeps it.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine

PG_URL = os.environ.get("INDABA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def in_schema(schema: str) -> str:
    """The database URL of Indaba's tables in ``schema`` of the benchmarks' server."""
    url = make_url(PG_URL).update_query_dict({"search_path": schema})
    return url.render_as_string(hide_password=False)


async def create_schema(prefix: str = "bench") -> tuple[str, str]:
    """A new empty schema: (its database URL, its name)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _run(f'CREATE SCHEMA "{schema}"')
    return in_schema(schema), schema


async def drop_schema(schema: str) -> None:
    await _run(f'DROP SCHEMA "{schema}" CASCADE')


async def _run(ddl: str) -> None:
    admin = create_engine(PG_URL)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(ddl))
    finally:
        await admin.dispose()
