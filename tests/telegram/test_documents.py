"""Files on Telegram: a message with an attachment is uploaded with sendDocument
(multipart, the file's name and type), its text as the caption when it fits 1,024
UTF-16 units, else the document and then the text; the file's link is never logged."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from telegram import Bot

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.client import TelegramClient
from bot.adapter import PermanentError
from bot.messages import Address, Attachment, Choice, ConversationKind, OutgoingMessage
from tests.fakes.telegram_api import TOKEN, FakeTelegram, utf16_len
from tests.harness import Harness
from tests.processes import free_port
from tests.telegram.conftest import FAST, TelegramStory, telegram_settings

FATIMA, AMINA = 600, 601
GROUP = -1006001


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{fake.url}/bot") as client:
        yield client


def data_url(body: bytes, media_type: str = "application/json") -> str:
    return f"data:{media_type};base64,{base64.b64encode(body).decode()}"


def to_amina(text: str, attachment: Attachment, **fields: object) -> OutgoingMessage:
    address = Address("telegram", ConversationKind.DM, str(AMINA))
    return OutgoingMessage(address, text, attachment=attachment, **fields)  # type: ignore[arg-type]


async def test_a_file_is_uploaded_with_its_text_as_caption(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(AMINA, "Amina")
    fake.started.add(AMINA)
    body = b'{"name": "Amina"}'
    file = Attachment(data_url(body), "me.json", "application/json")
    choices = (Choice("ok", "Thanks"),)
    ref = await TelegramClient(bot, FAST).send(
        to_amina("**Your data** 🌍 is attached", file, choices=choices)
    )
    assert fake.documents == [(AMINA, "me.json", "application/json", body)]
    [sent] = fake.sent_to(AMINA)
    assert sent["caption"] == "<b>Your data</b> 🌍 is attached"
    assert sent["document"]["file_name"] == "me.json"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    assert ref.message_id == f"{AMINA}:{sent['message_id']}"
    assert fake.called("sendMessage") == []


async def test_a_text_over_the_caption_limit_follows_the_file(fake: FakeTelegram, bot: Bot) -> None:
    """700 characters of emoji are 1,400 UTF-16 units: too long for a caption, though
    Python counts fewer than 1,024."""
    fake.user(AMINA, "Amina")
    fake.started.add(AMINA)
    text = "🌍" * 700
    assert len(text) < 1024 < utf16_len(text)
    file = Attachment(data_url(b"%PDF-1.7 poster", "application/pdf"), "p.pdf", "application/pdf")
    ref = await TelegramClient(bot, FAST).send(to_amina(text, file, choices=(Choice("a", "A"),)))
    document, message = fake.sent_to(AMINA)
    assert "caption" not in document and document["document"]["mime_type"] == "application/pdf"
    assert message["text"] == text
    assert "reply_markup" in message  # the buttons go with the text
    assert ref.message_id == f"{AMINA}:{message['message_id']}"


async def test_a_caption_telegram_finds_too_long_is_sent_after_the_file(
    fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram counts a caption's visible text; if it ever counts it longer than Indaba
    did, the document goes without it and the text follows: nothing is lost."""
    fake.user(AMINA, "Amina")
    fake.started.add(AMINA)
    monkeypatch.setattr(FakeTelegram, "_check_caption", _refuse_captions)
    file = Attachment(data_url(b"{}"), "me.json", "application/json")
    await TelegramClient(bot, FAST).send(to_amina("Your data", file))
    refused = fake.calls("sendDocument", ok=False)
    assert [c.error for c in refused] == ["Bad Request: message caption is too long"]
    document, message = fake.sent_to(AMINA)
    assert "caption" not in document and message["text"] == "Your data"


def _refuse_captions(self: FakeTelegram, params: dict[str, object]) -> None:
    from tests.fakes.telegram_api import ApiError

    if params.get("caption"):
        raise ApiError(400, "Bad Request: message caption is too long")


async def test_a_file_at_a_link_is_fetched_and_a_dead_link_is_refused(
    fake: FakeTelegram, bot: Bot
) -> None:
    """The file is read over HTTP from its signed link (here a small local server); a
    link that answers 403 (expired) is a permanent refusal that does not quote it."""
    fake.user(AMINA, "Amina")
    fake.started.add(AMINA)

    async def poster(request: web.Request) -> web.Response:
        if request.query.get("sig") == "good":
            return web.Response(body=b"%PDF-1.7", content_type="application/pdf")
        return web.Response(status=403)

    app = web.Application()
    app.router.add_get("/p.pdf", poster)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    client = TelegramClient(bot, FAST)
    try:
        good = Attachment(f"http://{host}:{port}/p.pdf?sig=good", "p.pdf", "application/pdf")
        await client.send(to_amina("The poster", good))
        assert fake.documents[-1][3] == b"%PDF-1.7"
        bad = Attachment(f"http://{host}:{port}/p.pdf?sig=bad", "p.pdf", "application/pdf")
        with pytest.raises(PermanentError) as refused:
            await client.send(to_amina("The poster", bad))
        assert "sig=" not in str(refused.value) and "403" in str(refused.value)
        assert len(fake.documents) == 1
    finally:
        await client.aclose()
        await runner.cleanup()


async def test_the_fake_takes_documents_only_as_uploads(fake: FakeTelegram) -> None:
    fake.user(AMINA, "Amina")
    fake.started.add(AMINA)
    url = f"{fake.url}/bot{TOKEN}/sendDocument"
    async with httpx.AsyncClient() as client:
        by_link = await client.post(
            url, data={"chat_id": str(AMINA), "document": "http://127.0.0.1/secret.pdf"}
        )
        assert by_link.status_code == 400
        assert "wrong file identifier" in by_link.json()["description"]
        long_caption = await client.post(
            url,
            data={"chat_id": str(AMINA), "caption": "é" * 1025},
            files={"document": ("a.json", b"{}", "application/json")},
        )
        assert long_caption.json()["description"] == "Bad Request: message caption is too long"
        big = await client.post(
            url,
            data={"chat_id": str(AMINA)},
            files={"document": ("a.bin", b"x" * (50 * 1024 * 1024 + 1), "application/zip")},
        )
        assert big.status_code == 413
    assert fake.documents == []


# -- whole stories: /mydata and the poster ----------------------------------------------------


# The database driver's own DEBUG lines quote every statement's parameters (an outbox
# row holds the file's link, as it holds every text); its level is the deployment's.
DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy")


def no_file_links(caplog: pytest.LogCaptureFixture, *links: str) -> None:
    logged = "\n".join(
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if not record.name.startswith(DRIVERS)
    )
    assert "sendDocument" in logged  # the sends were logged (at DEBUG), without the link
    for link in links:
        assert link not in logged
        assert "base64," not in logged


async def test_mydata_on_telegram_is_a_json_document(
    story: TelegramStory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = story.fake
    setup, join = await story.h.create_community()
    fake.group(GROUP, "Lagos Civic Tech")
    fake.user(FATIMA, "Fatima")
    fake.user(AMINA, "Amina")
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", GROUP)
    await story.say(AMINA, f"/start {join.replace('-', '')}")
    await story.say(AMINA, "Water point maps 💧")  # her answer to the wall's first question
    await story.say(AMINA, "/mydata")
    [(chat, name, media_type, body)] = fake.documents
    assert chat == AMINA and media_type == "application/json"
    assert re.fullmatch(r"indaba-my-data-\d{4}-\d\d-\d\d\.json", name)
    data = json.loads(body)
    assert any(i.get("user_id") == str(AMINA) for i in data["identities"])
    assert "Water point maps 💧" in json.dumps(data, ensure_ascii=False)
    [sent] = [m for m in fake.sent_to(AMINA) if "document" in m]
    assert "Everything Indaba holds about you" in sent["caption"]
    no_file_links(caplog, data_url(body))


async def test_a_meeting_poster_arrives_as_a_pdf_document(
    fake: FakeTelegram, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = TelegramAdapter(telegram_settings(fake), limits=FAST, poll_timeout=2)
    h = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=free_port())
    try:
        await h.indaba.serve_http()
        h.indaba.links.base_url = f"http://127.0.0.1:{await h.indaba.http_port()}"
        story = TelegramStory(h, adapter, fake)
        setup, _ = await h.create_community()
        fake.group(GROUP, "Lagos Civic Tech")
        fake.user(FATIMA, "Fatima")
        await story.say(FATIMA, "/start")
        await story.say(FATIMA, f"/setup {setup}", GROUP)
        await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
        await story.say(FATIMA, "/harvest poster", GROUP)
        [(chat, name, media_type, body)] = [d for d in fake.documents if d[0] == FATIMA]
        assert (chat, media_type) == (FATIMA, "application/pdf")
        assert name.startswith("poster-") and name.endswith(".pdf")
        assert body.startswith(b"%PDF")
        [sent] = [m for m in fake.sent_to(FATIMA) if "document" in m]
        assert sent["document"]["file_name"] == name
        assert "The poster of November meeting" in sent["caption"]
        link = re.search(r"https?://\S+", sent["caption"])
        assert link is not None
        no_file_links(caplog, link.group(0))
    finally:
        await h.aclose()
