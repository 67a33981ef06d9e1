"""Database engine and sessions (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _quiet_driver_logs() -> None:
    """aiosqlite logs every statement with its parameters at DEBUG: members' texts and
    join codes would reach the log. Indaba's own DEBUG lines say what happens."""
    driver = logging.getLogger("aiosqlite")
    if driver.getEffectiveLevel() < logging.INFO:
        driver.setLevel(logging.INFO)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the delivery loop read while the engine writes; busy_timeout waits for
    # a writer instead of failing; foreign keys are off by default on SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# An execution option marking sessions that only read (see read_only_sessions).
READ_ONLY = "indaba_read_only"


def _sqlite_begin(connection: Any) -> None:
    # Every transaction takes the write lock when it begins, so two writers queue on the
    # busy timeout instead of one failing with "database is locked" when a transaction
    # that read first tries to write after another committed (SQLite has one writer).
    # A reader takes no lock (WAL gives it a snapshot): an export run beside a running
    # Indaba must not hold its writers, the webhooks' acknowledgements among them.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine for ``url``; ``pool_size`` connections (and as many overflow) on
    PostgreSQL, one on SQLite."""
    _quiet_driver_logs()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer, and waiting for the pool's connection is
        # an asyncio wait in order, where waiting on SQLite's lock is a polling sleep.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # ``?search_path=name`` keeps Indaba's tables in a schema of a shared database.
    search_path = parsed.query.get("search_path")
    connect_args: dict[str, Any] = {}
    if search_path:
        parsed = parsed.difference_update_query(["search_path"])
        connect_args["server_settings"] = {"search_path": str(search_path)}
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Recycled rather than pinged before each use: a ping is a round trip per transaction.
        pool_recycle=1800,
        connect_args=connect_args,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def reader_engine(engine: AsyncEngine) -> AsyncEngine | None:
    """A second engine on the same SQLite file, for long reads (a page, a download) that
    would otherwise hold its one connection from the writers; None where the engine's
    pool serves (PostgreSQL) or no second connection sees the same data (in memory)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return create_engine(engine.url.render_as_string(hide_password=False))


def read_only_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads (an export, a brief's file). On SQLite their
    transactions take no write lock; elsewhere they are plain sessions."""
    return session_factory(engine.execution_options(**{READ_ONLY: True}))


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
