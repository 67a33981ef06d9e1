"""The inbound side is one slack-bolt ``AsyncApp``: its listeners hand each request to the
sink before ``ack()``; bolt's own answers (url_verification) stay; a kind Indaba does not
read is acknowledged quietly, without bolt's 404 and the WARNING quoting the payload;
bolt's own reading of a payload of a strange shape is a 400, never a 500 or a
traceback; a slash command whose text holds the word "payload" is read right; and
Socket Mode goes through bolt's handler the same way."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp

from bot.adapter import AdapterContext
from bot.messages import CommandInvoked, InboundEvent
from tests.fakes.slack_api import APP_TOKEN, TEAM_ID, FakeSlack
from tests.harness import Harness
from tests.slack.conftest import CHANNEL, FORM, Edge, make_adapter


def test_the_adapter_is_a_bolt_app_processing_before_it_answers(edge: Edge) -> None:
    app = edge.adapter.app
    assert isinstance(app, AsyncApp)
    assert app.process_before_response is True
    # One listener per kind of request Indaba reads, registered on the instance.
    assert len(app._async_listeners) == 4


async def test_bolt_answers_url_verification(edge: Edge) -> None:
    body = json.dumps({"token": "t", "challenge": "c-9", "type": "url_verification"}).encode()
    response = await edge.post(body)
    assert response.status_code == 200 and response.json() == {"challenge": "c-9"}
    assert edge.events == []


async def test_the_first_request_is_authorised_once_by_bolt(edge: Edge) -> None:
    started = len(edge.fake.calls("auth.test"))
    for _ in range(3):
        assert (await edge.post(edge.command("help"), FORM)).status_code == 200
    # Bolt's single-workspace authorization: one auth.test, cached for the process.
    assert len(edge.fake.calls("auth.test")) == started + 1
    assert len(edge.events) == 3


async def test_a_command_holding_the_word_payload_is_read_right(edge: Edge) -> None:
    response = await edge.post(edge.command("agenda add payload formats"), FORM)
    assert response.status_code == 200
    [event] = edge.events
    assert isinstance(event, CommandInvoked)
    assert (event.command, event.args) == ("agenda", "add payload formats")


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "shortcut", "callback_id": "x", "user": {"id": "U0AMINA"}, "trigger_id": "t"},
        {"type": "view_closed", "view": {"callback_id": "x"}, "user": {"id": "U0AMINA"}},
        {"type": "block_suggestion", "user": {"id": "U0AMINA"}, "value": "a"},
    ],
)
async def test_kinds_indaba_does_not_read_are_acknowledged_quietly(
    edge: Edge, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    payload = {**payload, "response_url": edge.fake.response_url(CHANNEL, "U0AMINA")}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    with caplog.at_level(logging.DEBUG):
        response = await edge.post(body, FORM)
    assert response.status_code == 200 and response.text == ""
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert payload["response_url"] not in caplog.text
    assert edge.events == []


@pytest.mark.parametrize(
    "payload",
    [
        # Fields bolt reads for its context, of types Slack never sends.
        {"type": "event_callback", "team": 5, "event": {"type": "message", "user": "U0AMINA"}},
        {"type": "event_callback", "authorizations": 7, "event": {"type": "app_mention"}},
        {"type": "event_callback", "enterprise": 3, "event": {"type": "message"}},
        # What bolt offers every listener: the first action of a press that has none.
        {"type": "block_actions", "user": {"id": "U0AMINA"}, "actions": []},
    ],
)
async def test_what_bolt_cannot_read_is_400_with_one_warning(
    edge: Edge, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = await edge.post(json.dumps(payload).encode())
    assert response.status_code == 400
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "bolt could not read" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_listener_failure_is_not_acknowledged(edge: Edge) -> None:
    edge.failing = True
    event = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "event_id": "Ev1",
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": "D0AMINA",
            "user": "U0AMINA",
            "text": "hello",
            "ts": "1796000000.000100",
        },
    }
    response = await edge.post(json.dumps(event).encode())
    assert response.status_code == 503  # not bolt's automatic ack of events
    edge.failing = False
    retry = await edge.post(json.dumps(event).encode(), **{"X-Slack-Retry-Num": "1"})
    assert retry.status_code == 200 and len(edge.events) == 1


async def test_socket_mode_acks_after_the_sink_and_skips_junk(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(fake_slack, app_token=APP_TOKEN)
    h = await Harness.create(database_url, tmp_path, adapters=[adapter])
    try:
        junk = await fake_slack.push(
            "interactive", {"type": "block_actions", "user": {"id": "U0AMINA"}, "actions": "x"}
        )
        assert "payload" not in junk  # acknowledged empty: Slack does not send it again
        assert "actions is not a list" in caplog.text
        strange = await fake_slack.push("events_api", {"type": "event_callback", "team": 5})
        assert "envelope_id" in strange
        ack = await fake_slack.push(
            "slash_commands",
            {
                "team_id": TEAM_ID,
                "channel_id": CHANNEL,
                "channel_name": "cop",
                "user_id": "U0AMINA",
                "command": "/indaba",
                "text": "help",
                "trigger_id": "socket.trigger.2",
            },
        )
        assert "envelope_id" in ack
        await adapter.idle()
        await h.settle()
    finally:
        await h.aclose()
    [reply] = fake_slack.posted
    assert reply.ephemeral_to == "U0AMINA"
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("adapters"))


async def test_socket_mode_leaves_unstored_events_unacknowledged(fake_slack: FakeSlack) -> None:
    adapter = make_adapter(fake_slack, app_token=APP_TOKEN)
    stored: list[InboundEvent] = []
    failing = True

    async def sink(event: InboundEvent) -> None:
        if failing:
            raise ConnectionError("database down")
        stored.append(event)

    await adapter.start(AdapterContext(sink))
    command = {
        "team_id": TEAM_ID,
        "channel_id": CHANNEL,
        "user_id": "U0AMINA",
        "command": "/indaba",
        "text": "help",
        "trigger_id": "socket.trigger.3",
    }
    try:
        with pytest.raises(TimeoutError):
            await fake_slack.push("slash_commands", command, wait=1.0)
        failing = False
        ack = await fake_slack.push("slash_commands", command)
        assert "envelope_id" in ack and len(stored) == 1
    finally:
        await adapter.aclose()
