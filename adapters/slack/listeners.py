"""Indaba's slack-bolt app: one ``AsyncApp`` whose listeners hand each request to the
adapter and acknowledge it only once the engine's sink has stored its events.

``process_before_response=True`` makes bolt wait for a listener before answering Slack,
so the answer (the acknowledgement) always comes after the sink; the sink stores and
returns at once, so Slack's three seconds are kept by construction. Both transports —
``POST /slack/events`` (:mod:`adapters.slack.webhook`) and Socket Mode
(:mod:`adapters.slack.socket_mode`) — dispatch to this same app.

What bolt answers on its own is kept: ``url_verification`` and ``ssl_check``, and
events of the bot's own user are skipped. Three things are Indaba's:

- a request of a kind no listener is for (a shortcut, an event Indaba does not read) is
  acknowledged with an empty 200 by :func:`_only_ours`, instead of bolt's 404 and the
  WARNING that quotes the whole payload (its ``response_url`` included);
- the listener answers 400 for a payload of a wrong shape and 503 when the sink could
  not store the events (Slack sends them again);
- an error bolt meets while reading a payload is a 400 with one WARNING line and no
  traceback (:func:`_on_error`), not bolt's 500 with a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.normalise import Malformed, routed

log = logging.getLogger(__name__)

ANY = re.compile(r".*")
# Set in a request's context once it reaches a listener: an error after that is Indaba's.
LISTENING = "indaba_listening"


class Unavailable(Exception):
    """The engine could not take the events: Slack should send them again (503)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer Slack: a status and, for some payloads, a JSON body."""

    status: int = 200
    body: Mapping[str, Any] | None = None


Receive = Callable[[Mapping[str, Any]], Awaitable[Answer]]


# What bolt reads of every payload before any listener, middleware or error handler of
# ours runs (the arguments it offers them); public functions of slack_bolt.
_BOLT_READS = (
    to_options,
    to_shortcut,
    to_action,
    to_view,
    to_command,
    to_event,
    to_message,
    to_step,
)


def readable(request: AsyncBoltRequest) -> AsyncBoltRequest:
    """``request``, once bolt has read its payload the way it will for each function it
    calls; :class:`Malformed` when it cannot (a field of a type Slack never sends)."""
    try:
        for read in _BOLT_READS:
            read(request.body)
    except Exception as error:
        raise Malformed(f"bolt could not read the payload ({type(error).__name__})") from None
    return request


def bad_request(reason: object) -> BoltResponse:
    """Refuse a payload of the wrong shape: one WARNING line, no traceback."""
    log.warning("bad Slack request: %s", reason)
    return BoltResponse(status=400, body="malformed body")


async def _only_ours(
    body: dict[str, Any], next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    """Pass on what a listener is for; acknowledge anything else with an empty 200."""
    if not routed(body):
        return BoltResponse(status=200, body="")
    await next()
    return None


async def _on_error(error: Exception, request: AsyncBoltRequest) -> BoltResponse:
    if isinstance(error, Malformed):
        return bad_request(error)
    if isinstance(error, (TimeoutError, aiohttp.ClientError, OSError)):
        # Bolt's one auth.test could not reach Slack: not acknowledged, Slack retries.
        log.warning(
            "slack: could not reach Slack while reading a request: %s", type(error).__name__
        )
        return BoltResponse(status=503, body="try again")
    if request.context.get(LISTENING):
        log.error("slack: a request failed in Indaba", exc_info=error)
        return BoltResponse(status=500, body="")
    # Bolt reads fields of a payload without checking their types; a signed payload of
    # a shape Slack never sends can make it raise. The reason is its type, never a field.
    return bad_request(f"bolt could not read the payload ({type(error).__name__})")


def build_app(web: AsyncWebClient, signing_secret: SecretStr, receive: Receive) -> AsyncApp:
    """The app: bolt's signature check, single-workspace authorization (one ``auth.test``
    for the process, cached by bolt) and a listener per kind of request Indaba reads."""
    app = AsyncApp(
        client=web,
        signing_secret=signing_secret.get_secret_value(),
        process_before_response=True,
        name="indaba",
    )

    async def listen(body: dict[str, Any], ack: AsyncAck, context: AsyncBoltContext) -> Any:
        context[LISTENING] = True
        try:
            answer = await receive(body)
        except Malformed as error:
            return bad_request(error)
        except Unavailable:
            return BoltResponse(status=503, body="try again")
        # The sink has the events: only now is the request acknowledged.
        if answer.body is not None:
            await ack(dict(answer.body))
        else:
            await ack()
        return None

    app.use(_only_ours)
    app.command(ANY)(listen)
    app.action(ANY)(listen)
    app.view(ANY)(listen)
    app.event(ANY)(listen)
    app.error(_on_error)
    return app
