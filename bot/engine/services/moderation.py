"""Hiding, removing and restoring what members filed, and the audit log of it."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from storage.models import AgendaItem, Practice, Reply, WallEntry

Hideable = type[Reply] | type[Practice] | type[WallEntry] | type[AgendaItem]


def visible(model: Hideable) -> ColumnElement[bool]:
    """The SQL clause keeping what no facilitator has hidden: ``.where(visible(Reply))``."""
    return model.hidden_at.is_(None)
