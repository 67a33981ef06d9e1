"""``POST /slack/events``: events, slash commands and interactivity, verified at the edge.

In order: the body is read up to the limit (413 past it, the rest unread); the
signature headers are checked (401 when they are missing, malformed, stale or wrong —
before anything of the body is looked at); the body is parsed into an object (400 with
one WARNING line when it is not UTF-8, not JSON or a form, nested too deep, or holds
numbers JSON cannot carry); then the adapter handles it, and answers 503 when the
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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.slack.normalise import Malformed
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


class Unavailable(Exception):
    """The engine could not take the events: Slack should send them again (503)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer Slack: a status and, for some payloads, a JSON body."""

    status: int = 200
    body: Mapping[str, Any] | None = None


Receive = Callable[[Mapping[str, Any]], Awaitable[Answer]]


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


class SlackWebhook:
    """The Starlette endpoint: verify, parse, hand to ``receive``, answer."""

    def __init__(self, verifier: Verifier, receive: Receive, max_body_bytes: int) -> None:
        self._verifier = verifier
        self._receive = receive
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
            answer = await self._receive(payload)
        except Malformed as error:
            log.warning("bad Slack request: %s", error)
            return Response("malformed body", status_code=400)
        except Unavailable:
            return Response("try again", status_code=503)
        if answer.body is None:
            return Response(status_code=answer.status)
        return JSONResponse(dict(answer.body), status_code=answer.status)
