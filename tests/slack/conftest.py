"""Fixtures for the Slack adapter: the fake Web API, a whole Indaba serving
``/slack/events`` over real HTTP, and a workspace that sends it signed requests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from adapters.slack import SlackAdapter
from adapters.slack.client import Pacing
from adapters.slack.settings import SlackSettings
from bot.adapter import AdapterContext
from bot.messages import InboundEvent, OutgoingMessage
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.harness import Harness
from tests.processes import free_port

SIGNING_SECRET = "test-signing-secret"
CHANNEL = "C0COP"
PEOPLE = {"U0FATIMA": "Fatima", "U0AMINA": "Amina", "U0KWAME": "Kwame", "U0THANDI": "Thandi"}
# Quick enough for tests; the rate-limit tests set their own.
FAST = Pacing(channel_rate=1000, channel_burst=1000, workspace_rate=1000, workspace_burst=1000)


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's signature headers for ``body`` (the same as slack_sdk's SignatureVerifier
    computes, which cannot sign bytes that are not UTF-8)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    for user_id, name in PEOPLE.items():
        fake.add_user(user_id, name)
    fake.channel_members[CHANNEL] = set(PEOPLE)
    await fake.start()
    yield fake
    await fake.aclose()


def make_adapter(fake: FakeSlack, pacing: Pacing = FAST, **settings: Any) -> SlackAdapter:
    config = SlackSettings(
        bot_token=SecretStr(BOT_TOKEN),
        signing_secret=SecretStr(SIGNING_SECRET),
        api_url=fake.url,
        **settings,
    )
    return SlackAdapter(config, pacing=pacing)


class Workspace:
    """Plays Slack's side of the events API: signed requests to Indaba's endpoint."""

    def __init__(self, h: Harness, adapter: SlackAdapter, fake: FakeSlack, url: str) -> None:
        self.h = h
        self.adapter = adapter
        self.fake = fake
        self.url = url
        self.http = httpx.AsyncClient(timeout=10)
        self._ids = itertools.count(1)

    async def post(
        self, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **sign(body), **(headers or {})}
        response = await self.http.post(self.url, content=body, headers=all_headers)
        await self.adapter.idle()
        await self.h.settle()
        return response

    def command_form(
        self, user: str, text: str, channel: str = CHANNEL, *, direct: bool = False
    ) -> dict[str, str]:
        """A slash command as Slack posts it: ``/agenda add X`` is typed as
        ``/indaba agenda add X`` unless ``direct`` (a workspace that added ``/agenda``)."""
        name, _, args = text.partition(" ")
        if not direct and name != "/indaba":
            name, args = "/indaba", text.removeprefix("/")
        return {
            "token": "legacy",
            "team_id": TEAM_ID,
            "team_domain": "indaba-test",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "cop",
            "user_id": user,
            "user_name": PEOPLE.get(user, user).lower(),
            "command": name,
            "text": args,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url(channel, user),
            "trigger_id": self.fake.trigger(),
        }

    async def command(
        self, user: str, text: str, channel: str = CHANNEL, *, direct: bool = False
    ) -> httpx.Response:
        form = self.command_form(user, text, channel, direct=direct)
        return await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    def press_payload(
        self, user: str, ts: str, value: str, channel: str, action_ts: str | None = None
    ) -> dict[str, Any]:
        return {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0APP",
            "team": {"id": TEAM_ID, "domain": "indaba-test"},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel, "name": "cop"},
            "message": {"type": "message", "ts": ts, "text": "", "bot_id": "B0BOT"},
            "response_url": self.fake.response_url(channel, user),
            "trigger_id": self.fake.trigger(),
            "actions": [
                {
                    "type": "button",
                    "action_id": "indaba_choice:0",
                    "block_id": "indaba_choices_0",
                    "value": value,
                    "action_ts": action_ts or f"{time.time():.6f}{next(self._ids)}",
                }
            ],
        }

    async def press(
        self, user: str, ts: str, value: str, channel: str, action_ts: str | None = None
    ) -> httpx.Response:
        return await self.interact(self.press_payload(user, ts, value, channel, action_ts))

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0APP",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": TEAM_ID,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }

    async def event(
        self, event: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = json.dumps(self.envelope(event)).encode()
        return await self.post(body, "application/json", headers)

    def next_ts(self) -> str:
        return f"{int(time.time())}.{900000 + next(self._ids):06d}"

    async def dm(
        self, user: str, text: str, *, thread_ts: str | None = None, ts: str | None = None
    ) -> str:
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": self.fake.member_opens_dm(user),
            "channel_type": "im",
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        response = await self.event(event)
        assert response.status_code == 200
        return ts

    async def edit(self, user: str, ts: str, text: str) -> None:
        channel = self.fake.dm_channel(user)
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": channel,
            "channel_type": "im",
            "hidden": True,
            "ts": self.next_ts(),
            "event_ts": self.next_ts(),
            "message": {"type": "message", "user": user, "text": text, "ts": ts},
            "previous_message": {"type": "message", "user": user, "text": "old", "ts": ts},
        }
        assert (await self.event(event)).status_code == 200

    async def say_in_channel(self, user: str, text: str, channel: str = CHANNEL) -> str:
        ts = self.next_ts()
        event = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "channel_type": "channel",
            "event_ts": ts,
        }
        assert (await self.event(event)).status_code == 200
        return ts

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def workspace(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> AsyncIterator[Workspace]:
    adapter = make_adapter(fake_slack)
    port = free_port()
    h = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=port)
    await h.indaba.serve_http()
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as probe:
        for _ in range(200):
            try:
                if (await probe.get(base + "/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
    ws = Workspace(h, adapter, fake_slack, base + "/slack/events")
    yield ws
    await ws.aclose()
    await h.aclose()


FORM = "application/x-www-form-urlencoded"


class Edge:
    """The adapter's route alone on a real HTTP server, with a sink that records."""

    def __init__(self, adapter: SlackAdapter, fake: FakeSlack, url: str) -> None:
        self.adapter = adapter
        self.fake = fake
        self.url = url
        self.events: list[InboundEvent] = []
        self.failing = False
        self.http = httpx.AsyncClient(timeout=10)

    async def sink(self, event: InboundEvent) -> None:
        await asyncio.sleep(0.05)  # a sink that takes a moment: the answer must wait for it
        if self.failing:
            raise ConnectionError("database down")
        self.events.append(event)

    async def post(
        self, body: bytes, content_type: str = "application/json", signed: bool = True, **h: str
    ) -> httpx.Response:
        headers = {"Content-Type": content_type, **(sign(body) if signed else {}), **h}
        return await self.http.post(self.url, content=body, headers=headers)

    def command(self, text: str, user: str = "U0AMINA") -> bytes:
        form = {
            "team_id": TEAM_ID,
            "channel_id": CHANNEL,
            "channel_name": "cop",
            "user_id": user,
            "command": "/indaba",
            "text": text,
            "response_url": self.fake.response_url(CHANNEL, user),
            "trigger_id": self.fake.trigger(),
        }
        return urlencode(form).encode()


@pytest.fixture
async def edge(fake_slack: FakeSlack) -> AsyncIterator[Edge]:
    adapter = make_adapter(fake_slack, max_body_bytes=64 * 1024)
    app = Starlette(routes=list(adapter.routes()))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    found = Edge(adapter, fake_slack, f"http://127.0.0.1:{port}/slack/events")
    await adapter.start(AdapterContext(found.sink))
    yield found
    await found.http.aclose()
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await adapter.aclose()


def sent_text(message: OutgoingMessage) -> str:
    return message.text
