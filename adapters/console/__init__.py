"""The console adapter: a chat with Indaba in the terminal, with a virtual clock."""

from __future__ import annotations

from adapters.console.adapter import ConsoleAdapter
from bot.app.settings import Settings


def create(settings: Settings) -> ConsoleAdapter:
    return ConsoleAdapter()


__all__ = ["ConsoleAdapter", "create"]
