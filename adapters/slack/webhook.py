"""``POST /slack/events``: events, slash commands and interactivity, verified at the edge.

In order: the body is read up to the limit (413 past it, the rest unread); the
signature headers are checked (401 when they are missing, malformed, stale or wrong —
before anything of the body is looked at); the body is parsed into an object (400 with
one WARNING line when it is not UTF-8, not JSON or a form, nested too deep, holds
numbers JSON cannot carry, or its fields are not of the types Slack documents); then
bolt's app (:mod:`adapters.slack.listeners`) handles it, and answers 503 when the
engine could not take its events, so Slack sends them again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.request.async_internals import build_async_context
from starlette.requests import Request
from starlette.responses import Response

from adapters.slack.listeners import readable
from adapters.slack.normalise import Malformed, check
from bot.adapter import BodyTooLarge, read_body_limited

log = logging.getLogger(__name__)

# Slack rejects requests older than five minutes; so do we.
TOLERANCE_SECONDS = 300
MAX_DEPTH = 64
MAX_FORM_FIELDS = 200
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """The request is not signed by Slack; the message says why, never the secret."""


class Verifier:
    """Slack's request signing: ``v0=`` + HMAC-SHA256(secret, ``v0:{ts}:{body}``)."""

    def __init__(self, secret: SecretStr, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> None:
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            raise SignatureError("no signature headers")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise SignatureError("malformed X-Slack-Request-Timestamp")
        if not _SIGNATURE.fullmatch(signature):
            raise SignatureError("malformed X-Slack-Signature")
        if abs(self._clock() - int(timestamp)) > TOLERANCE_SECONDS:
            raise SignatureError("stale X-Slack-Request-Timestamp")
        key = self._secret.get_secret_value().encode()
        digest = hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        if not hmac.compare_digest("v0=" + digest.hexdigest(), signature):
            raise SignatureError("wrong signature")


def _finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise Malformed("a number overflows")
    return number


def _constant(value: str) -> Any:
    raise Malformed(f"{value} is not JSON")


def _depth_ok(data: Any, limit: int = MAX_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def load_json(text: str, what: str) -> Any:
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        raise Malformed(f"{what} is nested too deep") from None
    except ValueError as error:
        if isinstance(error, Malformed):
            raise
        raise Malformed(f"{what} is not JSON") from None
    if not _depth_ok(data):
        raise Malformed(f"{what} is nested too deep")
    return data


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The payload as an object: a JSON event envelope, an interactivity ``payload``
    field, or a slash command's form fields."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body is not UTF-8") from None
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        data = load_json(text, "body")
    else:
        try:
            fields = parse_qs(
                text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
            )
        except ValueError:
            raise Malformed("body is not a form") from None
        if "payload" in fields:
            data = load_json(fields["payload"][0], "payload")
        else:
            data = {name: values[0] for name, values in fields.items()}
    if not isinstance(data, dict):
        raise Malformed("payload is not an object")
    return data


def bolt_request(raw: bytes, payload: dict[str, Any], request: Request) -> AsyncBoltRequest:
    """The request as bolt reads it; :class:`Malformed` when bolt cannot read it.

    Bolt takes a form whose fields merely contain the word ``payload`` (a slash command
    ``/indaba agenda add payload formats``) for an interactivity payload and finds an
    empty one; the body parsed here is then the one bolt is given.
    """
    try:
        found = to_async_bolt_request(request, raw)
        if found.body != payload:
            found.body = payload
            found.context = build_async_context(AsyncBoltContext(), payload)
    except Exception as error:
        # Bolt reads fields without checking their types (``"id" in user``).
        raise Malformed(f"bolt could not read the payload ({type(error).__name__})") from None
    return readable(found)


class SlackWebhook:
    """The Starlette endpoint: the checks bolt does not make, then bolt's app.

    Bolt reads the whole body before it checks anything, answers 500 (with a traceback
    in the log) for a malformed signature header, a body that is not UTF-8 or not
    JSON, and takes JSON numbers and nesting Python cannot carry: so the body is read
    here up to the limit, the signature headers are checked, and the payload is
    parsed strictly, before bolt sees the request (and checks the signature again).
    """

    def __init__(self, verifier: Verifier, app: AsyncApp, max_body_bytes: int) -> None:
        self._verifier = verifier
        self._app = app
        self._limit = max_body_bytes

    async def endpoint(self, request: Request) -> Response:
        try:
            body = await read_body_limited(request, self._limit)
        except BodyTooLarge as error:
            log.warning("refused a Slack request: body too large (%s)", error)
            return Response("body too large", status_code=413)
        try:
            self._verifier.check(request.headers, body)
        except SignatureError as error:
            log.warning("refused a Slack request: %s", error)
            return Response("invalid request", status_code=401)
        try:
            payload = parse_body(body, request.headers.get("content-type", ""))
            check(payload)
            found = bolt_request(body, payload, request)
        except Malformed as error:
            log.warning("bad Slack request: %s", error)
            return Response("malformed body", status_code=400)
        return to_starlette_response(await self._app.async_dispatch(found))
