"""``POST /telegram/webhook``: the secret header checked, the body bounded and parsed,
each event handed to the sink before Telegram gets its 200.

Answers: 403 without the right ``X-Telegram-Bot-Api-Secret-Token`` (401 when the
header is not even shaped like one), 413 past the body limit (without reading the
rest), 400 with one WARNING line for anything that is not an update, 503 when the
sink could not store an event (Telegram sends the update again), 200 otherwise.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

from bot.adapter import BodyTooLarge, read_body_limited
from bot.messages import InboundEvent

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Update ids are 32-bit signed integers in Telegram's docs; anything else is not one.
_MAX_UPDATE_ID = 2**31 - 1

# Reads the neutral events out of an update (pure).
Normalise = Callable[[Update], list[InboundEvent]]
# Hands an update's events to the sink, each awaited, and answers a button press.
Accept = Callable[[Update, list[InboundEvent]], Awaitable[None]]


class Malformed(ValueError):
    """The body is not a Telegram update; the message names why, for the log."""


def parse_update(body: bytes, bot: Bot) -> Update:
    """The update in ``body``; :class:`Malformed` naming the reason when it is none."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    try:
        data: Any = json.loads(text)
    except RecursionError:
        raise Malformed("the JSON is nested too deeply") from None
    except ValueError:
        raise Malformed("the body is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed(f"the JSON is a {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= _MAX_UPDATE_ID:
        raise Malformed("update_id is missing or not a 32-bit number")
    try:
        update = Update.de_json(data, bot)
    except RecursionError:
        raise Malformed("the update is nested too deeply") from None
    except Exception as error:  # PTB raises whatever the wrong shape trips on
        raise Malformed(f"not an update ({type(error).__name__})") from None
    return update


class Webhook:
    """The route, bound to the adapter's bot, secret and body limit."""

    def __init__(
        self,
        secret: Callable[[], str],
        bot: Callable[[], Bot | None],
        normalise: Normalise,
        accept: Accept,
        body_limit: int,
    ) -> None:
        self._secret = secret
        self._bot = bot
        self._normalise = normalise
        self._accept = accept
        self._body_limit = body_limit

    def route(self) -> Route:
        return Route(WEBHOOK_PATH, self.handle, methods=["POST"])

    def _verify(self, request: Request) -> Response | None:
        expected = self._secret()
        given = request.headers.get(SECRET_HEADER)
        if given is not None and not _SECRET_SHAPE.match(given):
            log.warning("telegram webhook: refused a malformed secret token header")
            return JSONResponse({"ok": False}, status_code=401)
        if not expected or given is None or not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: refused a request without the right secret token")
            return JSONResponse({"ok": False}, status_code=403)
        return None

    async def handle(self, request: Request) -> Response:
        refused = self._verify(request)
        if refused is not None:
            return refused
        bot = self._bot()
        if bot is None:
            return JSONResponse({"ok": False, "error": "not started"}, status_code=503)
        try:
            body = await read_body_limited(request, self._body_limit)
        except BodyTooLarge as error:
            log.warning("telegram webhook: body too large (%s)", error)
            return JSONResponse({"ok": False, "error": "body too large"}, status_code=413)
        try:
            update = parse_update(body, bot)
            events = self._normalise(update)
        except Malformed as error:
            log.warning("telegram webhook: malformed update: %s", error)
            return JSONResponse({"ok": False, "error": "malformed update"}, status_code=400)
        except Exception as error:  # a shape PTB accepted but the normaliser cannot read
            log.warning("telegram webhook: malformed update: %s", error)
            return JSONResponse({"ok": False, "error": "malformed update"}, status_code=400)
        try:
            await self._accept(update, events)
        except Exception:
            log.exception("telegram webhook: could not store update %s", update.update_id)
            return JSONResponse({"ok": False, "error": "try again"}, status_code=503)
        return JSONResponse({"ok": True})
