"""A whole Indaba with the WhatsApp adapter, talking real HTTP to the fake Cloud API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.whatsapp import WhatsAppAdapter, WhatsAppSettings
from tests.fakes.whatsapp_api import FakeWhatsApp, WhatsAppCall
from tests.harness import Harness

TEMPLATE = "indaba_reopen"


def adapter_settings(fake: FakeWhatsApp, **overrides: Any) -> WhatsAppSettings:
    values: dict[str, Any] = {
        "access_token": fake.access_token,
        "phone_number_id": fake.phone_number_id,
        "app_secret": fake.app_secret,
        "verify_token": "verify-me",
        "api_url": fake.url,
        "template_name": TEMPLATE,
        "template_language": "en",
        "member_interval_seconds": 0,
    }
    values.update(overrides)
    return WhatsAppSettings(**values)


class World:
    """Indaba + the WhatsApp adapter + the fake, driven like members on their phones."""

    def __init__(self, h: Harness, fake: FakeWhatsApp, adapter: WhatsAppAdapter) -> None:
        self.h = h
        self.fake = fake
        self.adapter = adapter

    async def settle(self) -> list[WhatsAppCall]:
        await self.adapter.idle()
        await self.h.settle()
        return self.fake.take()

    async def say(self, wa_id: str, text: str, **kw: Any) -> list[WhatsAppCall]:
        response = await self.fake.member_says(wa_id, text, **kw)
        assert response.status_code == 200
        return await self.settle()

    async def tap(self, wa_id: str, message_id: str, choice_id: str) -> list[WhatsAppCall]:
        response = await self.fake.member_taps(wa_id, message_id, choice_id)
        assert response.status_code == 200
        return await self.settle()

    async def advance(self, **delta: float) -> list[WhatsAppCall]:
        await self.h.advance(**delta)
        return await self.settle()


async def start_indaba_http(h: Harness) -> str:
    await h.indaba.serve_http()
    server = h.indaba._server
    assert server is not None
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    if h.indaba.links is not None:
        h.indaba.links.base_url = base  # the meeting pack's signed links (posters) point here
    return base


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    api = FakeWhatsApp(templates={TEMPLATE})
    await api.start()
    yield api
    await api.aclose()


@pytest.fixture
async def world(database_url: str, tmp_path: Path, fake: FakeWhatsApp) -> AsyncIterator[World]:
    adapter = WhatsAppAdapter(adapter_settings(fake))
    h = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=0)
    fake.clock = h.clock.now
    base = await start_indaba_http(h)
    fake.webhook_url = f"{base}/whatsapp/webhook"
    yield World(h, fake, adapter)
    await h.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
