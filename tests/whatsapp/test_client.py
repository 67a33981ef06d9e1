"""The Cloud API client against the fake: error codes become delivery errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.whatsapp import WhatsAppAdapter
from adapters.whatsapp.client import CloudApiClient
from bot.adapter import PermanentError, RetryAfter, TransientError, Unreachable, WindowClosed
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.whatsapp.conftest import adapter_settings

MEMBER = "2348030000001"
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def client(fake: FakeWhatsApp, **kw: float) -> CloudApiClient:
    kw.setdefault("member_interval_seconds", 0)
    return CloudApiClient(fake.url, fake.phone_number_id, fake.access_token, **kw)  # type: ignore[arg-type]


def text(body: str = "hello") -> dict[str, object]:
    return {"type": "text", "text": {"body": body}}


async def test_sends_and_returns_the_wamid(fake: FakeWhatsApp) -> None:
    fake.last_inbound[MEMBER] = datetime.now(UTC)
    c = client(fake)
    wamid = await c.send(MEMBER, text(), reply_to="wamid.X")
    await c.aclose()
    [call] = fake.sent()
    assert call.wamid == wamid and wamid.startswith("wamid.")
    assert call.payload["context"] == {"message_id": "wamid.X"}
    assert call.payload["messaging_product"] == "whatsapp"


async def test_window_closed_is_131047(fake: FakeWhatsApp) -> None:
    fake.clock = lambda: NOW
    fake.last_inbound[MEMBER] = NOW - timedelta(hours=25)
    c = client(fake)
    with pytest.raises(WindowClosed):
        await c.send(MEMBER, text())
    # A template goes through whatever the window.
    assert await c.send(
        MEMBER,
        {"type": "template", "template": {"name": "indaba_reopen", "language": {"code": "en"}}},
    )
    await c.aclose()
    assert fake.errors[131047] == 1


async def test_rate_limits_ask_to_wait(fake: FakeWhatsApp) -> None:
    fake.last_inbound[MEMBER] = datetime.now(UTC)
    fake.pair_interval, fake.pair_burst = 60.0, 1
    c = client(fake)
    await c.send(MEMBER, text())
    with pytest.raises(RetryAfter) as pair:
        await c.send(MEMBER, text())
    assert "131056" in str(pair.value)
    fake.pair_interval, fake.number_rate = None, 1
    fake.last_inbound["2348030000002"] = datetime.now(UTC)
    with pytest.raises(RetryAfter) as number:
        await c.send("2348030000002", text())
        await c.send("2348030000002", text())
    assert "130429" in str(number.value)
    await c.aclose()


async def test_undeliverable_bad_request_and_bad_token(fake: FakeWhatsApp) -> None:
    fake.undeliverable.add(MEMBER)
    c = client(fake)
    with pytest.raises(Unreachable):
        await c.send(
            MEMBER,
            {"type": "template", "template": {"name": "indaba_reopen", "language": {"code": "en"}}},
        )
    with pytest.raises(PermanentError):
        await c.send(
            "2348030000002",
            {"type": "template", "template": {"name": "nope", "language": {"code": "en"}}},
        )
    await c.aclose()
    wrong = CloudApiClient(fake.url, fake.phone_number_id, "expired", member_interval_seconds=0)
    with pytest.raises(TransientError):
        await wrong.send(MEMBER, text())
    await wrong.aclose()
    down = CloudApiClient("http://127.0.0.1:9", "1", "t", member_interval_seconds=0)
    with pytest.raises(TransientError):
        await down.send(MEMBER, text())
    await down.aclose()


async def test_adapter_output_passes_the_fakes_limits(fake: FakeWhatsApp) -> None:
    fake.last_inbound[MEMBER] = datetime.now(UTC)
    adapter = WhatsAppAdapter(adapter_settings(fake))
    address = Address("whatsapp", ConversationKind.DM, MEMBER)
    for count in (2, 3, 7, 10, 14):
        choices = tuple(
            Choice(f"id{i}", f"A rather long agenda item label {i}", "why " * 30)
            for i in range(count)
        )
        await adapter.send(OutgoingMessage(address, "**Vote** for " + "x" * 1100, choices))
    await adapter.aclose()
    assert fake.errors == {}
    assert {c.payload["interactive"]["type"] for c in fake.calls() if c.type == "interactive"} == {
        "button",
        "list",
    }


async def test_member_pacing_spaces_messages_to_one_member(fake: FakeWhatsApp) -> None:
    fake.last_inbound[MEMBER] = datetime.now(UTC)
    # The client paces a little under the limit, as network latency varies.
    fake.pair_interval, fake.pair_burst = 0.15, 2
    c = client(fake, member_interval_seconds=0.2, member_burst=2)
    for _ in range(4):
        await c.send(MEMBER, text())
    await c.aclose()
    assert fake.errors == {} and len(fake.calls()) == 4
