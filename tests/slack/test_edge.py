"""Hostile input at ``POST /slack/events``: 413 for big bodies (unread), 401 for missing,
malformed, stale or wrong signature headers (a non-numeric timestamp included), 400 with
one WARNING and no traceback for signed bodies of a wrong shape, 503 when the sink
cannot store; the events reach the sink before the answer; no secret in any log; and
property-based runs of the normaliser and the route: never a 5xx, never an exception."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.normalise import Malformed, actor, normalise, payload_kind
from adapters.slack.webhook import parse_body
from bot.adapter import AdapterContext
from bot.messages import Address, CommandInvoked, ConversationKind, OutgoingMessage, Sender
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.slack.conftest import CHANNEL, FORM, SIGNING_SECRET, Edge, make_adapter, sign


async def test_a_body_over_the_limit_is_413_unread(edge: Edge) -> None:
    big = b"x" * (64 * 1024 + 1)
    response = await edge.post(big)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        # No declared length: refused as soon as the limit is passed, the rest unsent.
        for _ in range(1000):
            yield b"y" * 16 * 1024

    streamed = await edge.http.post(
        edge.url, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert edge.events == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "١٢٣".encode(), "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v1=abc"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
    ],
)
async def test_missing_or_malformed_signature_headers_are_401(
    edge: Edge, headers: dict[str, str | bytes]
) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    raw = [(b"Content-Type", b"application/json")] + [
        (name.encode(), value if isinstance(value, bytes) else value.encode())
        for name, value in headers.items()
    ]
    response = await edge.http.post(edge.url, content=body, headers=raw)
    assert response.status_code == 401
    assert edge.events == []


async def test_stale_and_wrongly_signed_requests_are_401(edge: Edge) -> None:
    body = edge.command("help")
    stale = sign(body, int(time.time()) - 301)
    assert (await edge.post(body, FORM, signed=False, **stale)).status_code == 401
    wrong = sign(body, secret="another-secret")
    assert (await edge.post(body, FORM, signed=False, **wrong)).status_code == 401
    assert edge.events == []


JUNK = [
    (b"\xff\xfe{}", "application/json", "not UTF-8"),
    (b'{"type": "event_callback", "event": ', "application/json", "not JSON"),
    (b"[1, 2]", "application/json", "not an object"),
    (b"payload=%5B1%5D", FORM, "not an object"),
    (b"payload=%7Bnope", FORM, "not JSON"),
    (b"payload=%FF", FORM, "not a form"),
    (b'{"type": "event_callback", "event": "x"}', "application/json", "event is not an object"),
    (b'{"type": 5}', "application/json", "type is not a string"),
    (b"[" * 30_000 + b"]" * 30_000, "application/json", "nested too deep"),
    (b'{"a":' * 200 + b"1" + b"}" * 200, "application/json", "nested too deep"),
    (
        b'{"type": "event_callback", "event": {"type": "message", "ts": 1e999}}',
        "application/json",
        "overflows",
    ),
    (b'{"type": "event_callback", "x": NaN}', "application/json", "NaN is not JSON"),
    (b'{"n": ' + b"9" * 5000 + b"}", "application/json", "not JSON"),
    (
        json.dumps(
            {
                "type": "event_callback",
                "event": {"type": "message", "user": "U0AMINA", "ts": 17, "channel": "C0COP"},
            }
        ).encode(),
        "application/json",
        "event.ts is not a string",
    ),
    (
        b"payload="
        + json.dumps({"type": "block_actions", "user": {"id": "U0AMINA"}, "actions": "x"})
        .encode()
        .replace(b'"', b"%22"),
        FORM,
        "actions is not a list",
    ),
    (
        urlencode({"command": "/indaba", "trigger_id": "t", "user_id": "U0AMINA"}).encode()
        + b"&"
        + b"&".join(b"f%d=1" % i for i in range(300)),
        FORM,
        "not a form",
    ),
    (
        # No workspace gives such an id: refused before Slack is asked who it is.
        urlencode(
            {"command": "/indaba", "text": "help", "trigger_id": "t", "user_id": "U" * 129}
        ).encode(),
        FORM,
        "user id over 128",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "reason"), JUNK)
async def test_signed_junk_is_400_with_one_warning(
    edge: Edge, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str, reason: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = await edge.post(body, content_type)
    assert response.status_code == 400
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert reason in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert edge.events == []


async def test_events_reach_the_sink_before_the_answer(edge: Edge) -> None:
    response = await edge.post(edge.command("agenda add Open data"), FORM)
    assert response.status_code == 200
    # The sink took 50 ms; the answer waited for it: nothing is acknowledged unstored.
    [event] = edge.events
    assert isinstance(event, CommandInvoked)
    assert (event.command, event.args) == ("agenda", "add Open data")


async def test_a_failing_sink_is_503_so_slack_retries(edge: Edge) -> None:
    edge.failing = True
    response = await edge.post(edge.command("help"), FORM)
    assert response.status_code == 503
    edge.failing = False
    assert (await edge.post(edge.command("help"), FORM)).status_code == 200


async def test_no_secret_in_any_log(
    fake_slack: FakeSlack, edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await edge.post(edge.command("help"), FORM)
        await edge.post(b"junk", "application/json")
        await edge.post(b"{}", "application/json", signed=False)
        adapter = make_adapter(fake_slack)
        await adapter.start(AdapterContext(edge.sink))
        await adapter.aclose()
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert logged  # something was logged at DEBUG
    for secret in (BOT_TOKEN, SIGNING_SECRET, "xoxb-"):
        assert secret not in logged
    assert "test-signing-secret" not in repr(edge.adapter.settings)
    assert BOT_TOKEN not in repr(edge.adapter.settings)


async def test_no_response_url_in_any_log(edge: Edge, caplog: pytest.LogCaptureFixture) -> None:
    """A response_url is a capability to post as Indaba: neither bolt, slack_sdk nor
    Indaba logs one, at any level, whether the request is read, ignored or answered."""
    # Bolt sets each of its loggers to the root's level when it makes them: at DEBUG too.
    bolts = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("slack_bolt")
    ]
    levels = [b.level for b in bolts]
    for bolt in bolts:
        bolt.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        await edge.post(edge.command("help"), FORM)
        shortcut = {
            "type": "shortcut",
            "callback_id": "x",
            "user": {"id": "U0AMINA"},
            "trigger_id": edge.fake.trigger(),
            "response_url": edge.fake.response_url(CHANNEL, "U0AMINA"),
        }
        await edge.post(urlencode({"payload": json.dumps(shortcut)}).encode(), FORM)
        only_her = Address("slack", ConversationKind.GROUP, CHANNEL, ephemeral_to="U0AMINA")
        await edge.adapter.send(OutgoingMessage(only_her, "Only for you"))
    assert [c.ok for c in edge.fake.calls("response_url")] == [True]
    logged = "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if r.name != "aiohttp.access"
    )
    for bolt, level in zip(bolts, levels, strict=True):
        bolt.setLevel(level)
    # The log ran at DEBUG, bolt's and the SDK's lines included.
    assert "slack_bolt" in logged and "slack_sdk" in logged
    assert "/hooks/" not in logged


# -- property-based ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "type",
    "event",
    "user",
    "user_id",
    "command",
    "trigger_id",
    "text",
    "channel",
    "channel_id",
    "channel_name",
    "actions",
    "container",
    "message",
    "ts",
    "subtype",
    "view",
    "response_url",
    "challenge",
    # read by bolt for its context and for the arguments it offers listeners
    "team",
    "authorizations",
    "enterprise",
    "is_enterprise_install",
    "response_urls",
    "function_data",
    "workflow_step",
]
shaped = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
payloads = st.one_of(
    shaped,
    st.builds(
        lambda e, rest: {**rest, "type": "event_callback", "event": e},
        st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
        shaped,
    ),
    st.builds(
        lambda rest: {**rest, "type": "block_actions", "user": {"id": "U1"}},
        shaped,
    ),
    st.builds(
        lambda rest: {**rest, "type": "view_submission", "user": {"id": "U1"}},
        shaped,
    ),
    st.builds(lambda rest: {**rest, "command": "/indaba", "trigger_id": "t"}, shaped),
)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_the_normaliser_never_fails_unexpectedly(body: dict[str, Any]) -> None:
    with contextlib.suppress(Malformed):
        payload_kind(body)
        user = actor(body)
        normalise(body, Sender("slack", user or "U1", "Someone"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/json", FORM, ""]))
def test_the_parser_never_fails_unexpectedly(body: bytes, content_type: str) -> None:
    with contextlib.suppress(Malformed):
        parse_body(body, content_type)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        payloads.map(lambda p: (json.dumps(p).encode(), "application/json")),
        payloads.map(lambda p: (urlencode({"payload": json.dumps(p)}).encode(), FORM)),
        payloads.map(
            lambda p: (urlencode({k: json.dumps(v) for k, v in p.items()}).encode(), FORM)
        ),
        st.tuples(st.binary(max_size=200), st.sampled_from(["application/json", FORM])),
    )
)
async def test_the_route_never_answers_5xx(
    edge: Edge, caplog: pytest.LogCaptureFixture, request_: tuple[bytes, str]
) -> None:
    body, content_type = request_
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = await edge.post(body, content_type)
    assert response.status_code < 500, response.text
    # Bolt reads each payload too: whatever it meets, no traceback and at most one line.
    assert all(r.exc_info is None for r in caplog.records)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]
