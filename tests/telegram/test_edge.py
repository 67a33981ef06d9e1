"""The webhook's edge: the secret, the body limit, malformed bodies, a sink that fails,
fuzzed bodies over real HTTP, and no secret in the log at any level."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.normalise import UnknownShape, normalise
from adapters.telegram.webhook import SECRET_HEADER, Malformed, parse_update
from bot.adapter import AdapterContext
from bot.messages import InboundEvent
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.processes import free_port
from tests.telegram.conftest import FAST, SECRET, TelegramStory, telegram_settings

webhook_only = pytest.mark.parametrize("story", ["webhook"], indirect=True)
RIGHT = {SECRET_HEADER: SECRET}


def message_update(update_id: int, text: str = "hello") -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1793000000,
            "chat": {"id": 5, "type": "private", "first_name": "Eve"},
            "from": {"id": 5, "is_bot": False, "first_name": "Eve"},
            "text": text,
        },
    }


MALFORMED = [
    b"\xff\xfe not utf-8",
    b"{not json",
    b"[1]",
    b'"event"',
    b'{"update_id": "x"}',
    b'{"update_id": 1e400}',
    b'{"update_id": 99999999999999999999999}',
    b'{"update_id": 1, "message": "x"}',
    b'{"update_id": 1, "message": {"chat": 5}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 1e30, "chat": {"id": 1, "type": "private"}}}',
    b'{"update_id": 1, "callback_query": [1]}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"update_id": 1, "message": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
]


@webhook_only
@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_a_malformed_body_is_400_with_one_warning(
    story: TelegramStory, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient() as client:
        reply = await client.post(story.fake.webhook["url"], content=body, headers=RIGHT)
    assert reply.status_code == 400
    mine = [r for r in caplog.records if r.name.startswith("adapters.telegram")]
    assert len(mine) == 1 and mine[0].levelno == logging.WARNING
    assert "malformed" in mine[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


@webhook_only
async def test_secret_header_and_body_limit(story: TelegramStory) -> None:
    url = story.fake.webhook["url"]
    update = json.dumps(message_update(90)).encode()
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, content=update)).status_code == 403
        wrong = {SECRET_HEADER: "not-the-secret"}
        assert (await client.post(url, content=update, headers=wrong)).status_code == 403
        malformed = {SECRET_HEADER: "spaces and ; are not a secret"}
        assert (await client.post(url, content=update, headers=malformed)).status_code == 401
        too_long = {SECRET_HEADER: "a" * 300}
        assert (await client.post(url, content=update, headers=too_long)).status_code == 401
        big = b'{"update_id": 1, "x": "' + b"y" * (2 * 1024 * 1024) + b'"}'
        assert (await client.post(url, content=big, headers=RIGHT)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: streamed
            for _ in range(2048):
                yield b"y" * 1024

        streamed = await client.post(url, content=chunks(), headers=RIGHT)
        assert streamed.status_code == 413
        assert (await client.post(url, content=update, headers=RIGHT)).status_code == 200


async def test_a_sink_that_fails_answers_503(fake: FakeTelegram, tmp_path: Path) -> None:
    """Telegram sends an unacknowledged update again: nothing is acknowledged unstored."""
    import asyncio

    import uvicorn
    from starlette.applications import Starlette

    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    adapter = TelegramAdapter(telegram_settings(fake, url), limits=FAST)
    stored: list[InboundEvent] = []
    fail = True

    async def sink(event: InboundEvent) -> None:
        if fail:
            raise RuntimeError("the inbox is down")
        stored.append(event)

    await adapter.start(AdapterContext(sink))
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=list(adapter.routes())), port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        body = json.dumps(message_update(91)).encode()
        async with httpx.AsyncClient() as client:
            assert (await client.post(url, content=body, headers=RIGHT)).status_code == 503
            assert stored == []
            fail = False
            assert (await client.post(url, content=body, headers=RIGHT)).status_code == 200
        assert [e.message_id for e in stored] == ["5:91"]
    finally:
        server.should_exit = True
        await task
        await adapter.aclose()


# -- property-based ---------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["message", "edited_message", "callback_query", "poll_answer", "chat_member", "my_chat_member"]
)
UPDATES = st.builds(
    lambda key, value, update_id: {"update_id": update_id, key: value},
    KEYS,
    JSON
    | st.builds(
        lambda extra: {**message_update(1)["message"], **extra},
        st.dictionaries(
            st.sampled_from(
                [
                    "chat",
                    "from",
                    "text",
                    "date",
                    "message_thread_id",
                    "is_topic_message",
                    "migrate_to_chat_id",
                    "new_chat_members",
                    "reply_to_message",
                ]
            ),
            JSON,
            max_size=3,
        ),
    ),  # type: ignore[index]
    st.integers(min_value=-(2**40), max_value=2**40),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda v: json.dumps(v).encode()),
    UPDATES.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=400, deadline=None)
@given(UPDATES)
def test_the_normaliser_never_raises_on_what_parses(update: dict[str, object]) -> None:
    from telegram import Bot

    try:
        parsed = parse_update(json.dumps(update).encode(), Bot(TOKEN))
    except Malformed:
        return
    with contextlib.suppress(UnknownShape):  # the webhook answers 400
        normalise(parsed, "indaba_test_bot")


@webhook_only
async def test_fuzzed_bodies_never_get_a_5xx(story: TelegramStory) -> None:
    bodies: list[bytes] = []

    @settings(max_examples=500, deadline=None, database=None)
    @given(BODIES)
    def collect(body: bytes) -> None:
        bodies.append(body)

    collect()
    url = story.fake.webhook["url"]
    async with httpx.AsyncClient() as client:
        for body in bodies:
            reply = await client.post(url, content=body, headers=RIGHT)
            assert reply.status_code < 500, body
        assert (await client.get(url.replace("/telegram/webhook", "/healthz"))).status_code == 200


# -- secrets out of the log ---------------------------------------------------------------


@pytest.mark.parametrize("story", ["webhook", "polling"], indirect=True)
async def test_no_secret_in_the_log_at_debug(
    story: TelegramStory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = story.fake
    setup, _ = await story.h.create_community()
    fake.group(-1008, "CoP")
    fake.user(800, "Fatima")
    await story.say(800, "/start")
    await story.say(800, f"/setup {setup}", -1008)
    await story.say(800, "a private text that only DEBUG may show")
    await story.adapter.aclose()  # shutdown logs too
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert TOKEN not in text
    assert TOKEN.split(":", 1)[1] not in text
    assert SECRET not in text
    assert "/bot***/" in text  # httpx's request lines are there, redacted
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not any("only DEBUG may show" in r.getMessage() for r in loud)
