"""Facilitators get the pack in chat: /harvest link, /wall link and /harvest poster (a
document on the facilitator's DM, its attachment kept by the outbox); members are told
who can."""

from __future__ import annotations

import html
import io

import httpx
from pypdf import PdfReader
from sqlalchemy import select

from bot.messages import ConversationKind
from bot.runtime.outbox import row_to_message
from storage.models import OutboxMessage
from tests.harness import to
from tests.web.conftest import Served
from tests.web.story import AMINA, MEETING


def url_in(text: str) -> str:
    return next(word for word in text.split() if word.startswith("http"))


async def test_facilitators_get_links_and_the_poster_in_chat(served: Served) -> None:
    h = served.h
    refused = to(await h.say("amina", "/harvest link", "#cop"), "amina")
    assert "Only a facilitator" in refused[0]
    refused = to(await h.say("amina", "/wall link", "#cop"), "amina")
    assert "facilitator" in refused[0] and "/wall link" in refused[0]

    said = to(await h.say("fatima", "/harvest link", "#cop"), "fatima")[0]
    assert MEETING in said and "30 days" in said
    wall = to(await h.say("fatima", "/wall link", "#cop"), "fatima")[0]
    assert "30 days" in wall
    async with httpx.AsyncClient(timeout=120) as client:
        harvest = await client.get(url_in(said))
        assert harvest.status_code == 200 and AMINA in html.unescape(harvest.text)
        page = await client.get(url_in(wall))
        assert page.status_code == 200 and "Who needs what" in page.text

        sent = await h.say("fatima", f"/harvest poster {served.told.meeting_id}", "#cop")
        [message] = [s.message for s in sent if s.message.attachment is not None]
        assert message.address.kind is ConversationKind.DM
        assert message.address.conversation_id == "fatima"
        assert message.attachment is not None
        assert message.attachment.filename == f"poster-{served.told.meeting_id}.pdf"
        assert message.attachment.media_type == "application/pdf"
        assert message.attachment.url in message.text  # the link, for platforms without files
        pdf = await client.get(message.attachment.url)
    assert MEETING in " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
    async with h.indaba.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("poster:%"))
        )
        assert row is not None
        assert row_to_message(row).attachment == message.attachment

    wrong = to(await h.say("fatima", "/harvest poster 999", "#cop"), "fatima")
    assert "no such meeting" in wrong[0]
    usage = to(await h.say("fatima", "/harvest link soon", "#cop"), "fatima")
    assert "/harvest link [MEETING_ID]" in usage[0]
