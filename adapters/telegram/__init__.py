"""The Telegram adapter: a CoP's Telegram group and its members' private chats."""

from __future__ import annotations

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.settings import load_telegram_settings


def create() -> TelegramAdapter | None:
    """The adapter when ``INDABA_TELEGRAM_BOT_TOKEN`` is set, otherwise None."""
    telegram = load_telegram_settings()
    if not telegram.bot_token:
        return None
    return TelegramAdapter(telegram)


__all__ = ["TelegramAdapter", "create"]
