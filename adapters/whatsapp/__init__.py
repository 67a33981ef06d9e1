"""The whatsapp adapter (under construction: not configured yet, so never started)."""

from __future__ import annotations

from bot.adapter import Adapter
from bot.settings import Settings


def create(settings: Settings) -> Adapter | None:
    return None
