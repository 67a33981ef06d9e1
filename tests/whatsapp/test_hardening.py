"""Hostile input at the WhatsApp webhook: 413 for big bodies (unread), 401 for bad or
malformed signatures, 400 with one WARNING and no traceback for signed bodies of a
wrong shape, 503 when the sink cannot store; and property-based runs of the
normaliser and the route: never a 5xx, never an unhandled exception."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from adapters.whatsapp import WhatsAppAdapter
from adapters.whatsapp.normalise import Malformed, normalise
from adapters.whatsapp.webhook import signature
from bot.adapter import AdapterContext
from bot.messages import ID_LENGTH, InboundEvent
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.whatsapp.conftest import World, adapter_settings

SECRET = "test-app-secret"


class Edge:
    """The adapter's routes alone on a real HTTP server, with a sink that records."""

    def __init__(self, adapter: WhatsAppAdapter, url: str) -> None:
        self.adapter = adapter
        self.url = url
        self.events: list[InboundEvent] = []
        self.failing = False

    async def sink(self, event: InboundEvent) -> None:
        if self.failing:
            raise ConnectionError("database down")
        self.events.append(event)

    async def post(self, body: bytes, sign: bool = True, **headers: str | bytes) -> httpx.Response:
        if sign:
            headers.setdefault("x-hub-signature-256", signature(SECRET.encode(), body))
        async with httpx.AsyncClient() as client:
            return await client.post(self.url, content=body, headers=headers)


@pytest.fixture
async def edge(fake: FakeWhatsApp) -> AsyncIterator[Edge]:
    adapter = WhatsAppAdapter(adapter_settings(fake, body_limit_bytes=64 * 1024))
    app = Starlette(routes=list(adapter.routes()))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    found = Edge(adapter, f"http://127.0.0.1:{port}/whatsapp/webhook")
    await adapter.start(AdapterContext(found.sink))
    yield found
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await adapter.aclose()


def webhook(fake: FakeWhatsApp, text: str = "hello") -> bytes:
    payload = fake._inbound("2348030000001", "Amina", {"type": "text", "text": {"body": text}})
    return json.dumps(payload).encode()


async def test_a_body_over_the_limit_is_413_unread(edge: Edge, fake: FakeWhatsApp) -> None:
    # A declared length over the limit: answered before a byte of the body is sent.
    port = int(edge.url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /whatsapp/webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 10485760\r\n\r\n"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status_line.split()[1] == b"413"

    # 10 MiB streamed without a declared length: the answer comes once the limit is
    # passed, while most of the body is still unsent.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /whatsapp/webhook HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
        b"x-hub-signature-256: sha256=" + b"0" * 64 + b"\r\n\r\n"
    )
    chunk = b" " * 65536
    answer = b""
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < 160:
            sent += 1
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(reader.readline(), timeout=0.02)
            if answer:
                break
    writer.close()
    assert answer.split()[1] == b"413"
    assert sent < 40, f"the server read {sent} chunks of 64 KiB"
    assert edge.events == []
    # Just under the limit is fine.
    assert (await edge.post(webhook(fake))).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha256=zz",
        "sha256=" + "0" * 63,
        "sha1=" + "0" * 40,
        "SHA256=" + "0" * 64,
        ("sha256=" + "é" * 32).encode("latin-1"),
        "sha256=" + "0" * 5000,
    ],
)
async def test_malformed_or_wrong_signatures_are_401(
    edge: Edge, fake: FakeWhatsApp, header: str | bytes
) -> None:
    body = webhook(fake)
    response = await edge.post(
        body, sign=False, **({"x-hub-signature-256": header} if header else {})
    )
    assert response.status_code == 401
    assert edge.events == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{not utf-8", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1]", "body is not an object"),
        (b'"x"', "body is not an object"),
        (b'{"object": "whatsapp_business_account", "entry": "x"}', "entry is not a list"),
        (b'{"object": "whatsapp_business_account", "entry": [1]}', "entry[] is not an object"),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": '
            b'"messages", "value": {"messages": [{"from": {"a": 1}, "id": "w"}]}}]}]}',
            "message.from is not a string",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not JSON"),
    ],
)
async def test_signed_bodies_of_a_wrong_shape_are_400_with_one_warning(
    edge: Edge, body: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    edge.adapter._webhook._body_limit = 1024 * 1024
    with caplog.at_level(logging.DEBUG):
        response = await edge.post(body)
    assert response.status_code == 400
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert edge.events == []


async def test_overflowing_numbers_are_no_error(edge: Edge, fake: FakeWhatsApp) -> None:
    payload = fake._inbound("2348030000001", "Amina", {"type": "text", "text": {"body": "hi"}})
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "9" * 400
    response = await edge.post(json.dumps(payload).encode())
    assert response.status_code == 200
    [event] = edge.events
    assert getattr(event, "sent_at", "x") is None


async def test_events_are_stored_before_the_200_and_a_failing_sink_is_503(
    edge: Edge, fake: FakeWhatsApp
) -> None:
    assert (await edge.post(webhook(fake))).status_code == 200
    assert len(edge.events) == 1, "handed over before the answer"
    edge.failing = True
    assert (await edge.post(webhook(fake))).status_code == 503


async def test_no_secret_in_the_log_at_debug(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    with caplog.at_level(logging.DEBUG):
        _, join = await world.h.create_community()
        await world.say("2348030000001", f"/join {join}", name="Amina")
        await world.fake.post_webhook(webhook(fake), signature="sha256=" + "1" * 64)
        await world.fake.post_webhook(b"[1]")
        await world.settle()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in (fake.access_token, fake.app_secret, "verify-me"):
        assert secret not in logged


# -- property-based ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["whatsapp_business_account", "messages", "text", "interactive"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)

KEYS = st.sampled_from(
    ["object", "entry", "changes", "field", "value", "messages", "statuses", "contacts", "from",
     "id", "type", "text", "body", "interactive", "button_reply", "list_reply", "context",
     "timestamp", "status", "recipient_id", "errors", "code", "title", "button", "payload",
     "profile", "name", "wa_id"]
)  # fmt: skip


def shaped(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON that looks much like a webhook: the right keys, any values."""
    return st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
        max_leaves=25,
    )


def webhook_like() -> st.SearchStrategy[Any]:
    message = st.fixed_dictionaries(
        {"from": st.sampled_from(["2348030000001", "27820000003"]), "id": st.text(min_size=1)},
        optional={
            "type": st.sampled_from(["text", "interactive", "button", "reaction", "image", ""]),
            "text": shaped(json_values),
            "interactive": shaped(json_values),
            "button": shaped(json_values),
            "context": shaped(json_values),
            "timestamp": json_values,
        },
    )
    value = st.fixed_dictionaries(
        {},
        optional={
            "messages": st.lists(message | shaped(json_values), max_size=2),
            "statuses": st.lists(shaped(json_values), max_size=2),
            "contacts": shaped(json_values),
        },
    )
    return st.fixed_dictionaries(
        {
            "object": st.just("whatsapp_business_account"),
            "entry": st.lists(
                st.fixed_dictionaries(
                    {"changes": st.lists(st.fixed_dictionaries({"field": st.just("messages"),
                                                                "value": value}), max_size=2)}
                ),
                max_size=2,
            ),
        }
    )  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, shaped(json_values), webhook_like()))
def test_the_normaliser_returns_events_or_says_malformed(payload: Any) -> None:
    try:
        events = normalise(payload)
    except Malformed:
        return
    assert all(isinstance(e, InboundEvent) for e in events)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        webhook_like().map(lambda p: json.dumps(p).encode()),
        shaped(json_values).map(lambda p: json.dumps(p).encode()),
        st.binary(max_size=200),
    )
)
async def test_the_route_never_answers_5xx(edge: Edge, body: bytes) -> None:
    edge.failing = False
    response = await edge.post(body)
    assert response.status_code in (200, 400)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=webhook_like())
async def test_what_the_route_accepts_the_engine_handles(world: World, payload: Any) -> None:
    response = await world.fake.post_webhook(payload)
    assert response.status_code in (200, 400)
    await world.settle()


def test_an_overlong_whatsapp_id_is_malformed(fake: FakeWhatsApp) -> None:
    payload = fake._inbound(
        "9" * (ID_LENGTH + 1), "Amina", {"type": "text", "text": {"body": "hi"}}
    )
    with pytest.raises(Malformed, match="over 128"):
        normalise(json.loads(json.dumps(payload)))


async def test_an_overlong_id_is_400_at_the_webhook(edge: Edge, fake: FakeWhatsApp) -> None:
    payload = fake._inbound(
        "9" * (ID_LENGTH + 1), "Amina", {"type": "text", "text": {"body": "hi"}}
    )
    answer = await edge.post(json.dumps(payload).encode())
    assert answer.status_code == 400 and edge.events == []
    fine = fake._inbound("2348030000001", "Amina", {"type": "text", "text": {"body": "a\ud800b"}})
    answer = await edge.post(json.dumps(fine).encode())
    assert answer.status_code == 200
    assert [getattr(e, "text", None) for e in edge.events] == ["a\ufffdb"]
