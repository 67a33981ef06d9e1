"""Fixtures for the Telegram adapter: the fake Bot API, the adapter, a whole Indaba on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.client import Limits
from adapters.telegram.settings import TelegramSettings
from storage.models import OutboxMessage
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram
from tests.harness import Harness
from tests.processes import free_port

SECRET = "s3cret_token-for-tests"
# Generous limits so stories run fast; the pacing tests use Telegram's own.
FAST = Limits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=100_000)
FAST_FAKE = FakeLimits(per_second=1000, per_chat_per_second=1000, per_group_per_minute=100_000)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram(limits=FAST_FAKE).start()
    yield server
    await server.aclose()


def telegram_settings(fake: FakeTelegram, webhook_url: str = "", **extra: Any) -> TelegramSettings:
    return TelegramSettings(
        bot_token=SecretStr(extra.pop("bot_token", TOKEN)),
        api_url=fake.url,
        webhook_url=webhook_url,
        webhook_secret=SecretStr(SECRET if webhook_url else ""),
        **extra,
    )


class TelegramStory:
    """A whole Indaba with the Telegram adapter, driven through the fake Bot API."""

    def __init__(self, harness: Harness, adapter: TelegramAdapter, fake: FakeTelegram) -> None:
        self.h = harness
        self.adapter = adapter
        self.fake = fake

    async def settle(self) -> None:
        await self.h.indaba.settle()

    async def processed(self, update_id: int) -> None:
        await asyncio.wait_for(self.adapter.wait_processed(update_id), 10)
        await self.settle()

    async def say(
        self,
        user: int,
        text: str,
        chat: int | None = None,
        reply_to: int | None = None,
        thread: int | None = None,
    ) -> dict[str, Any]:
        update_id, message = await self.fake.say(user, text, chat, reply_to, thread)
        await self.processed(update_id)
        return message

    async def outbox(self) -> list[OutboxMessage]:
        async with self.h.indaba.sessions() as session:
            return list(
                (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            )

    async def advance(self, **delta: float) -> None:
        await self.h.advance(**delta)


@pytest.fixture(params=["polling", "webhook"])
async def story(
    request: pytest.FixtureRequest, fake: FakeTelegram, database_url: str, tmp_path: Path
) -> AsyncIterator[TelegramStory]:
    webhook = request.param == "webhook"
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook" if webhook else ""
    adapter = TelegramAdapter(telegram_settings(fake, url), limits=FAST, poll_timeout=2)
    harness = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=port)
    if webhook:
        await harness.indaba.serve_http()
        await wait_for_http(f"http://127.0.0.1:{port}/healthz")
    yield TelegramStory(harness, adapter, fake)
    await harness.aclose()


async def wait_for_http(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
    raise AssertionError(f"{url} never answered")
