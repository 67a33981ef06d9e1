"""The WhatsApp webhook on Indaba's HTTP server: ``GET`` verification, ``POST`` events.

A POST is read up to the body limit (413 past it, unread), its ``X-Hub-Signature-256``
checked (401 when missing, malformed or wrong), parsed and normalised (400 with one
WARNING line naming the reason when it is not a webhook Indaba knows), and every event
it holds handed to the sink **before** the 200: when the sink fails, Meta gets a 503
and delivers the webhook again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.whatsapp.normalise import Malformed, normalise
from bot.adapter import BodyTooLarge, read_body_limited
from bot.messages import InboundEvent

log = logging.getLogger(__name__)

PATH = "/whatsapp/webhook"
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")

Deliver = Callable[[Sequence[InboundEvent]], Awaitable[None]]


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def parse(body: bytes) -> Any:
    """The JSON of a body; :class:`Malformed` when it is not JSON Indaba can read."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body is not UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise Malformed("body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and integers too long to convert
        raise Malformed(f"body is not JSON ({type(error).__name__})") from None


class Webhook:
    """The two routes, and how many POSTs are being handled (for :meth:`idle`)."""

    def __init__(
        self, app_secret: bytes, verify_token: str, body_limit: int, deliver: Deliver
    ) -> None:
        self._secret = app_secret
        self._verify_token = verify_token
        self._body_limit = body_limit
        self._deliver = deliver
        self._in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(PATH, self.verify, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    async def idle(self) -> None:
        """Wait until every POST received so far has been answered."""
        await self._quiet.wait()

    def signature_ok(self, body: bytes, header: str) -> bool:
        if not SIGNATURE.fullmatch(header):
            return False
        return hmac.compare_digest(signature(self._secret, body).encode(), header.encode())

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self._verify_token.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.warning("WhatsApp webhook verification refused (wrong mode or verify token)")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        self._in_flight += 1
        self._quiet.clear()
        try:
            return await self._receive(request)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.set()

    async def _receive(self, request: Request) -> Response:
        try:
            body = await read_body_limited(request, self._body_limit)
        except BodyTooLarge:
            log.warning("WhatsApp webhook refused: body over %s bytes", self._body_limit)
            return PlainTextResponse("body too large", status_code=413)
        if not self.signature_ok(body, request.headers.get("x-hub-signature-256", "")):
            log.warning("WhatsApp webhook refused: bad, malformed or missing signature")
            return PlainTextResponse("bad signature", status_code=401)
        try:
            events = normalise(parse(body))
        except Malformed as error:
            log.warning("WhatsApp webhook refused: %s", error)
            return PlainTextResponse("malformed payload", status_code=400)
        for event in events:
            # The event's type and id only: a command's words may hold a join code.
            log.debug("WhatsApp %s %s", type(event).__name__, event.message_id)
        try:
            await self._deliver(events)
        except Exception as error:
            log.warning(
                "WhatsApp webhook not stored (%s); Meta will deliver it again",
                type(error).__name__,
            )
            return PlainTextResponse("try again", status_code=503)
        return PlainTextResponse("ok")
