"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
``INDABA_TEST_DATABASE_URL`` is set), no network beyond loopback, and a harness that
runs a whole Indaba on a virtual clock with the in-memory adapter."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import create_engine
from storage.models import Base
from tests.harness import Harness

PG_URL = os.environ.get("INDABA_TEST_DATABASE_URL", "")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    loopback = host in ("127.0.0.1", "::1", "localhost") or str(host).startswith("127.")
    if isinstance(host, str) and inet and not loopback:
        raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database of its own; on PostgreSQL, a schema of its own."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'indaba.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}search_path={schema}"
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database with the whole schema created."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    h = await Harness.create(database_url, tmp_path)
    yield h
    await h.aclose()
