"""No secret in any log, at any level: Indaba at DEBUG with Slack, Telegram and WhatsApp
configured at once, driven through each platform's webhook, the log grepped for every
token, secret and code; members' texts only at DEBUG."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr

from adapters.slack.settings import SlackSettings
from adapters.telegram.adapter import TelegramAdapter
from adapters.whatsapp import WhatsAppAdapter
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.harness import Harness
from tests.processes import free_port
from tests.slack.conftest import FAST, SIGNING_SECRET, sign
from tests.telegram.conftest import FAST as TELEGRAM_FAST
from tests.telegram.conftest import FAST_FAKE, SECRET, telegram_settings, wait_for_http
from tests.whatsapp.conftest import adapter_settings

MEMBER_WORDS = "Our ward committee maps every borehole by hand"


async def test_no_secret_in_the_log_at_debug(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack_fake = FakeSlack()
    slack_fake.add_user("U0AMINA", "Amina")
    await slack_fake.start()
    telegram_fake = await FakeTelegram(limits=FAST_FAKE).start()
    whatsapp_fake = FakeWhatsApp()
    await whatsapp_fake.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    from adapters.slack import SlackAdapter

    slack = SlackAdapter(
        SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=slack_fake.url,
        ),
        pacing=FAST,
    )
    telegram = TelegramAdapter(
        telegram_settings(telegram_fake, f"{base}/telegram/webhook"), limits=TELEGRAM_FAST
    )
    whatsapp = WhatsAppAdapter(adapter_settings(whatsapp_fake))
    whatsapp_fake.webhook_url = f"{base}/whatsapp/webhook"
    h = await Harness.create(
        database_url,
        tmp_path,
        adapters=[slack, telegram, whatsapp],
        http_port=port,
        log_level="DEBUG",
    )
    try:
        await h.indaba.serve_http()
        await wait_for_http(f"{base}/healthz")
        setup, join = await h.create_community()
        async with httpx.AsyncClient() as client:
            # Slack: a slash command with the join code, a DM with a member's words.
            form = {
                "team_id": TEAM_ID,
                "channel_id": "D0AMINA",
                "user_id": "U0AMINA",
                "command": "/indaba",
                "text": f"join {join}",
                "response_url": slack_fake.response_url("D0AMINA", "U0AMINA"),
                "trigger_id": slack_fake.trigger(),
            }
            body = urlencode(form).encode()
            response = await client.post(
                f"{base}/slack/events",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
            )
            assert response.status_code == 200
            event = {
                "type": "event_callback",
                "team_id": TEAM_ID,
                "event_id": "Ev1",
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "channel": "D0AMINA",
                    "user": "U0AMINA",
                    "text": MEMBER_WORDS,
                    "ts": f"{time.time():.6f}",
                },
            }
            body = json.dumps(event).encode()
            response = await client.post(
                f"{base}/slack/events",
                content=body,
                headers={"Content-Type": "application/json", **sign(body)},
            )
            assert response.status_code == 200
            # Telegram: /setup with the facilitator code, then a member's words.
            telegram_fake.user(77, "Kwame")
            for text in (f"/start {setup}", MEMBER_WORDS):
                update_id, _ = await telegram_fake.say(77, text)
                await asyncio.wait_for(telegram.wait_processed(update_id), 10)
            # WhatsApp: the join code and a member's words.
            for text in (f"/join {join}", MEMBER_WORDS):
                assert (await whatsapp_fake.member_says("27820000001", text)).status_code == 200
        await slack.idle()
        await h.settle()
    finally:
        await h.aclose()
        await slack_fake.aclose()
        await telegram_fake.aclose()
        await whatsapp_fake.aclose()

    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records), "the log ran at DEBUG"
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in records)
    secrets = {
        "Slack bot token": BOT_TOKEN,
        "Slack signing secret": SIGNING_SECRET,
        "Telegram bot token": TOKEN,
        "Telegram webhook secret": SECRET,
        "WhatsApp access token": whatsapp_fake.access_token,
        "WhatsApp app secret": whatsapp_fake.app_secret,
        "WhatsApp verify token": "verify-me",
        "setup code": setup,
        "join code": join,
    }
    leaked = [name for name, value in secrets.items() if value and value in logged]
    assert leaked == []
    # A Telegram token also appears without its "bot" prefix in URLs: check its halves.
    assert TOKEN.split(":")[1] not in logged
    above_debug = "\n".join(r.getMessage() for r in records if r.levelno > logging.DEBUG)
    assert MEMBER_WORDS not in above_debug


def test_the_sqlite_drivers_statements_stay_out_of_a_debug_log() -> None:
    """At DEBUG aiosqlite quotes each statement's parameters (an outbox row holding a
    member's /mydata file as a data: URL): Indaba's log keeps it at INFO."""
    from bot.app.cli.run import _configure_logging
    from bot.app.settings import Settings

    driver, root = logging.getLogger("aiosqlite"), logging.getLogger()
    before = driver.level, root.level
    try:
        driver.setLevel(logging.NOTSET)
        root.setLevel(logging.DEBUG)  # as basicConfig leaves it at DEBUG
        _configure_logging(Settings(log_level="DEBUG"))
        assert root.isEnabledFor(logging.DEBUG)
        assert not driver.isEnabledFor(logging.DEBUG)
    finally:
        driver.setLevel(before[0])
        root.setLevel(before[1])
