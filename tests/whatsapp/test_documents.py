"""Files on WhatsApp: uploaded to ``/media`` (multipart) and sent as a ``document``
message with the text as its caption; the fake checks uploads as strictly as the Cloud
API (types, sizes, known media ids); only inside the window; the link never logged."""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
from sqlalchemy import select

from adapters.whatsapp.client import CloudApiClient
from bot.adapter import PermanentError, WindowClosed
from bot.messages import Address, Attachment, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import OutboxMessage
from storage.statuses import OutboxStatus
from tests.fakes.whatsapp_api import FakeWhatsApp, WhatsAppCall
from tests.whatsapp.conftest import World

FATIMA, AMINA = "2348030000009", "2348030000001"
# The database driver's own DEBUG lines quote every statement's parameters (an outbox
# row holds the file's link, as it holds every text); its level is the deployment's.
DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy")


def data_url(body: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(body).decode()}"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        record.getMessage() + (record.exc_text or "")
        for record in caplog.records
        if not record.name.startswith(DRIVERS)
    )


def documents(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
    return [c for c in calls if c.to == wa_id and c.type == "document"]


async def join(w: World) -> None:
    setup, code = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    await w.say(AMINA, f"/join {code}", name="Amina")


async def test_mydata_on_whatsapp_is_a_json_document(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = world
    await join(w)
    sent = await w.say(AMINA, "/mydata")
    [document] = documents(sent, AMINA)
    media_id = document.payload["document"]["id"]
    media_type, filename, body = w.fake.media[media_id]
    # WhatsApp takes no application/json document: it goes as text, under its own name.
    assert media_type == "text/plain"
    assert re.fullmatch(r"indaba-my-data-\d{4}-\d\d-\d\d\.json", filename)
    assert document.payload["document"]["filename"] == filename
    data = json.loads(body)
    assert any(i.get("user_id") == AMINA for i in data["identities"])
    assert "Everything Indaba holds about you" in document.text
    assert len(document.text) <= 1024
    text = logged(caplog)
    assert "/media" in text  # the upload was logged, without the file
    assert "base64," not in text
    assert w.fake.errors == {}


async def test_a_meeting_poster_arrives_as_a_pdf_document(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = world
    await join(w)
    await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    sent = await w.say(FATIMA, "/harvest poster")
    [document] = documents(sent, FATIMA)
    media_type, filename, body = w.fake.media[document.payload["document"]["id"]]
    assert media_type == "application/pdf" and body.startswith(b"%PDF")
    assert filename.startswith("poster-") and filename.endswith(".pdf")
    assert document.payload["document"]["filename"] == filename
    assert "The poster of November meeting" in document.text
    async with w.h.indaba.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("poster:"))
        )
        assert row is not None
    link = row.options["attachment"]["url"]
    assert link.startswith("http://127.0.0.1:")
    text = logged(caplog)
    assert "/media" in text
    assert "GET [file link]" in text  # the fetch was logged, without the link
    assert link not in text and link.split("?")[0] not in text
    assert w.fake.errors == {}


async def test_a_document_waits_for_the_window_and_a_long_text_follows_it(world: World) -> None:
    w = world
    await join(w)
    await w.advance(days=2)
    text = "The minutes of our meeting.\n" + "\n".join(f"Line {n} of the notes" for n in range(80))
    file = Attachment(data_url(b"%PDF-1.7 minutes", "application/pdf"), "m.pdf", "application/pdf")
    async with w.h.indaba.sessions() as session, session.begin():
        await w.h.indaba.outbox.put_one(
            session,
            Envelope(
                "minutes",
                OutgoingMessage(
                    Address("whatsapp", ConversationKind.DM, AMINA), text, attachment=file
                ),
            ),
        )
    # Outside the window: the template, and nothing uploaded or sent before she writes.
    assert [c.type for c in await w.settle() if c.to == AMINA] == ["template"]
    assert w.fake.media == {}
    got = [c for c in await w.say(AMINA, "Hello") if c.to == AMINA]
    assert [c.type for c in got[:2]] == ["document", "text"]
    caption, rest = got[0].text, got[1].text
    assert len(caption) <= 1024 and caption.startswith("The minutes of our meeting.")
    assert (caption + "\n" + rest).replace("\u200b", "") == text
    async with w.h.indaba.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "minutes")
        )
        assert row is not None and row.status == OutboxStatus.SENT
        assert row.platform_message_id == got[0].wamid
    assert w.fake.errors == {}


async def test_the_fake_checks_uploads_and_documents_strictly(fake: FakeWhatsApp) -> None:
    client = CloudApiClient(fake.url, fake.phone_number_id, fake.access_token)
    try:
        with pytest.raises(PermanentError, match="131053"):
            await client.upload(b"{}", "me.json", "application/json")
        with pytest.raises(PermanentError, match="131053"):
            await client.upload(b"x" * (100 * 1024 * 1024 + 1), "big.pdf", "application/pdf")
        with pytest.raises(PermanentError, match="131053"):
            await client.send(AMINA, {"type": "document", "document": {"id": "404"}})
        image = await client.upload(b"\x89PNG", "p.png", "image/png")
        with pytest.raises(PermanentError, match="not a document"):
            await client.send(AMINA, {"type": "document", "document": {"id": image}})
        media_id = await client.upload(b"%PDF-1.7", "p.pdf", "application/pdf")
        assert fake.media[media_id] == ("application/pdf", "p.pdf", b"%PDF-1.7")
        # Nobody wrote from this number: a document is no template, the window is closed.
        with pytest.raises(WindowClosed):
            await client.send(AMINA, {"type": "document", "document": {"id": media_id}})
        fake.last_inbound[AMINA] = fake.clock()  # she wrote: the window is open
        wamid = await client.send(
            AMINA, {"type": "document", "document": {"id": media_id, "caption": "x" * 1024}}
        )
        assert wamid.startswith("wamid.")
        with pytest.raises(PermanentError, match="Caption"):
            await client.send(
                AMINA, {"type": "document", "document": {"id": media_id, "caption": "x" * 1025}}
            )
    finally:
        await client.aclose()
