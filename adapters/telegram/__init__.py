"""The Telegram adapter: a CoP's Telegram group and its members' private chats."""

from __future__ import annotations

from adapters.telegram.adapter import PLATFORM, TelegramAdapter
from adapters.telegram.settings import load


def create() -> TelegramAdapter | None:
    """The adapter when ``INDABA_TELEGRAM_BOT_TOKEN`` is set, otherwise None."""
    settings = load()
    return TelegramAdapter(settings) if settings is not None else None


__all__ = ["PLATFORM", "TelegramAdapter", "create"]
