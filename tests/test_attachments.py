"""Attachment bytes as adapters read them: a ``data:`` URL decoded in place, any other
URL through the adapter's own fetch, and a clear refusal for what cannot be sent."""

from __future__ import annotations

import base64

import pytest

from bot.adapter import ATTACHMENT_LIMIT, PermanentError, attachment_bytes
from bot.messages import Attachment


async def _never(url: str) -> bytes:
    raise AssertionError(f"fetched {url}")


async def test_a_data_url_is_decoded_without_fetching() -> None:
    body = base64.b64encode(b'{"name": "Thandi"}').decode()
    attachment = Attachment(f"data:application/json;base64,{body}", "me.json", "application/json")
    assert await attachment_bytes(attachment, _never) == b'{"name": "Thandi"}'


async def test_a_link_is_fetched_with_the_adapters_client() -> None:
    asked: list[str] = []

    async def fetch(url: str) -> bytes:
        asked.append(url)
        return b"%PDF-1.7"

    attachment = Attachment(
        "http://127.0.0.1:8080/pack/1/poster.pdf?sig=x", "p.pdf", "application/pdf"
    )
    assert await attachment_bytes(attachment, fetch) == b"%PDF-1.7"
    assert asked == [attachment.url]


async def test_a_malformed_data_url_is_permanent_and_never_quoted() -> None:
    attachment = Attachment(
        "data:application/json;base64,@@secret@@", "me.json", "application/json"
    )
    with pytest.raises(PermanentError) as raised:
        await attachment_bytes(attachment, _never)
    assert "secret" not in str(raised.value)


async def test_a_file_over_the_limit_is_refused() -> None:
    async def fetch(url: str) -> bytes:
        return b"x" * (ATTACHMENT_LIMIT + 1)

    with pytest.raises(PermanentError, match="over"):
        await attachment_bytes(Attachment("http://127.0.0.1/x", "x.pdf", "application/pdf"), fetch)
