"""The adapter against the fake Bot API: start-up, webhook checks, idempotent updates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import adapters.telegram as telegram_plugin
from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.webhook import SECRET_HEADER
from bot.adapter import AdapterContext, StartupError
from bot.app.settings import SettingsError
from storage.models import Member, ProcessedEvent
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import SECRET, TelegramStory, telegram_settings

GROUP = -1005
webhook_only = pytest.mark.parametrize("story", ["webhook"], indirect=True)


async def test_wrong_token_stops_start_up_with_one_line(fake: FakeTelegram) -> None:
    adapter = TelegramAdapter(telegram_settings(fake, bot_token="999:wrong"))

    async def sink(event: object) -> None:
        raise AssertionError("no events expected")

    with pytest.raises(StartupError) as raised:
        await adapter.start(AdapterContext(sink))
    message = str(raised.value)
    assert message.startswith("INDABA_TELEGRAM_BOT_TOKEN was refused by Telegram")
    assert "\n" not in message
    await adapter.aclose()


def test_create_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDABA_TELEGRAM_BOT_TOKEN", raising=False)
    assert telegram_plugin.create() is None
    monkeypatch.setenv("INDABA_TELEGRAM_BOT_TOKEN", "1:abc")
    adapter = telegram_plugin.create()
    assert adapter is not None and not adapter.webhook_mode
    monkeypatch.setenv("INDABA_TELEGRAM_WEBHOOK_URL", "https://cop.example.org/telegram/webhook")
    with pytest.raises(SettingsError, match="INDABA_TELEGRAM_WEBHOOK_SECRET"):
        telegram_plugin.create()
    monkeypatch.setenv("INDABA_TELEGRAM_WEBHOOK_SECRET", "ok_secret-1")
    assert telegram_plugin.create().webhook_mode  # type: ignore[union-attr]
    monkeypatch.setenv("INDABA_TELEGRAM_API_URL", "api.telegram.org")
    with pytest.raises(SettingsError, match="INDABA_TELEGRAM_API_URL"):
        telegram_plugin.create()


async def test_start_up_calls(story: TelegramStory) -> None:
    await story.processed(await story.fake.push({"some_future_update": {}}))
    methods = [call.method for call in story.fake.calls()]
    assert methods[0] == "getMe"
    assert methods.count("setMyCommands") == 2
    if story.adapter.webhook_mode:
        assert story.fake.webhook == {
            "url": story.fake.webhook["url"],
            "secret_token": SECRET,
        }
        assert story.fake.webhook["url"].endswith("/telegram/webhook")
    else:
        assert "deleteWebhook" in methods
        polls = story.fake.called("getUpdates")
        assert polls and "poll_answer" in polls[-1]["allowed_updates"]
        assert "chat_member" in polls[-1]["allowed_updates"]


@webhook_only
async def test_webhook_checks_the_secret_and_the_body(story: TelegramStory) -> None:
    import httpx

    url = story.fake.webhook["url"]
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 1793000000,
            "chat": {"id": 5, "type": "private", "first_name": "Eve"},
            "from": {"id": 5, "is_bot": False, "first_name": "Eve"},
            "text": "hello",
        },
    }
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=update)).status_code == 403
        wrong = {SECRET_HEADER: "not-the-secret"}
        assert (await client.post(url, json=update, headers=wrong)).status_code == 403
        right = {SECRET_HEADER: SECRET}
        bad = await client.post(url, content=b"{not json", headers=right)
        assert bad.status_code == 400
        assert (await client.post(url, json=[1, 2], headers=right)).status_code == 400
        assert (await client.post(url, json={"message": {}}, headers=right)).status_code == 400
        unknown = {"update_id": 78, "some_future_update": {"x": 1}}
        assert (await client.post(url, json=unknown, headers=right)).status_code == 200
        assert (await client.post(url, json=update, headers=right)).status_code == 200
    await story.processed(77)
    await story.processed(78)
    async with story.h.indaba.sessions() as session:
        keys = (await session.scalars(select(ProcessedEvent.key))).all()
    # Only the verified, well-formed update reached the engine.
    assert keys == ["telegram:MessageReceived:5:5:1"]


async def test_a_redelivered_update_is_handled_once(
    story: TelegramStory, fake: FakeTelegram
) -> None:
    setup, _ = await story.h.create_community()
    fake.group(GROUP, "Group")
    fake.user(1, "Fatima")
    fake.user(2, "Amina")
    await story.say(1, "/start")  # so that the group's one nudge of the day is Amina's
    await story.say(1, f"/setup {setup}", GROUP)
    _, message = await fake.say(2, "hello all", GROUP)
    update = {"message": fake._public(message)}
    for _ in range(3):
        await story.processed(await fake.push(update, update_id=500))
    await story.settle()
    async with story.h.indaba.sessions() as session:
        members = await session.scalar(select(func.count()).select_from(Member))
        seen = await session.scalar(
            select(func.count())
            .select_from(ProcessedEvent)
            .where(
                ProcessedEvent.key
                == f"telegram:MessageReceived:{GROUP}:{GROUP}:{message['message_id']}"
            )
        )
    assert members == 2
    assert seen == 1
    welcomes_to_group = [t for t in fake.texts_to(GROUP) if "Amina" in t]
    assert len(welcomes_to_group) == 1  # the nudge for Amina, once
