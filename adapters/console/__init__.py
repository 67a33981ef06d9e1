"""The console adapter: a chat with Indaba in the terminal, with a virtual clock."""

from __future__ import annotations

from adapters.console.adapter import ConsoleAdapter


def create() -> ConsoleAdapter:
    return ConsoleAdapter()


__all__ = ["ConsoleAdapter", "create"]
