"""The WhatsApp adapter (Cloud API): on when ``INDABA_WHATSAPP_ACCESS_TOKEN`` is set."""

from __future__ import annotations

from adapters.whatsapp.adapter import WhatsAppAdapter
from adapters.whatsapp.settings import WhatsAppSettings, load
from bot.adapter import Adapter


def create() -> Adapter | None:
    """The adapter, or None when WhatsApp is not configured (no access token)."""
    whatsapp = load()
    if not whatsapp.enabled:
        return None
    whatsapp.check()
    return WhatsAppAdapter(whatsapp)


__all__ = ["WhatsAppAdapter", "WhatsAppSettings", "create"]
