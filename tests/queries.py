"""Counting the SQL statements Indaba sends, and where in its code each one comes from.

A ``before_cursor_execute`` listener on the engine records every statement with the
chain of Indaba's own functions that issued it. Under SQLAlchemy's asyncio extension
the driver is called in a greenlet whose parent is the event loop's, suspended at the
``await`` that led there, so that parent's frames are the caller's coroutines.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import greenlet
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
OURS = tuple(str(ROOT / folder) + "/" for folder in ("bot", "storage", "adapters"))
PREFIX = len(str(ROOT)) + 1


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    # Indaba's functions that led to it, outermost first ("bot/engine/engine.py:_turn").
    callers: tuple[str, ...]
    # Sent by the session flushing objects changed earlier (before the statement of
    # ``where`` that made it flush), not by ``where`` itself.
    flushed: bool = False

    @property
    def verb(self) -> str:
        return self.sql.split(None, 1)[0].upper() if self.sql.strip() else ""

    @property
    def where(self) -> str:
        """The innermost of Indaba's functions that sent it."""
        where = self.callers[-1] if self.callers else "?"
        return f"{where} (a flush)" if self.flushed else where

    def within(self, function: str) -> bool:
        return any(caller.endswith(f":{function}") for caller in self.callers)


def _statement(sql: str, frame: FrameType | None, inner: FrameType | None) -> Statement:
    found: list[str] = []
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(OURS):
            found.append(f"{filename[PREFIX:]}:{frame.f_code.co_name}")
        frame = frame.f_back
    flushed = False
    while inner is not None:
        code = inner.f_code
        flushed = flushed or (code.co_name == "_flush" and code.co_filename.endswith("session.py"))
        inner = inner.f_back
    return Statement(sql, tuple(reversed(found)), flushed)


@dataclass
class Queries:
    """The statements sent while :func:`counting` is open."""

    statements: list[Statement] = field(default_factory=list)

    def clear(self) -> None:
        self.statements.clear()

    def within(self, function: str) -> list[Statement]:
        """Those sent from inside ``function`` (a name, such as ``handle_stored``)."""
        return [s for s in self.statements if s.within(function)]

    def by_caller(self, function: str | None = None) -> Counter[str]:
        chosen = self.within(function) if function else self.statements
        return Counter(f"{s.verb:<6} {s.where}" for s in chosen if s.verb != "BEGIN")


@contextmanager
def counting(db: AsyncEngine) -> Iterator[Queries]:
    queries = Queries()

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        parent = greenlet.getcurrent().parent
        frame = parent.gr_frame if parent is not None else None
        queries.statements.append(_statement(statement, frame, sys._getframe(1)))

    event.listen(db.sync_engine, "before_cursor_execute", before)
    try:
        yield queries
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", before)
