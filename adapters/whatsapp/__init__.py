"""The WhatsApp adapter (Cloud API): on when ``INDABA_WHATSAPP_ACCESS_TOKEN`` is set."""

from __future__ import annotations

from adapters.whatsapp.adapter import PLATFORM, WhatsAppAdapter
from adapters.whatsapp.settings import WhatsAppSettings, load
from bot.adapter import Adapter


def create() -> Adapter | None:
    """The adapter, or None when WhatsApp is not configured (no access token)."""
    settings = load()
    return WhatsAppAdapter(settings) if settings is not None else None


__all__ = ["PLATFORM", "WhatsAppAdapter", "WhatsAppSettings", "create"]
