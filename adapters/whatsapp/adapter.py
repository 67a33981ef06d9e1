"""The WhatsApp adapter: Cloud API webhooks in, Cloud API messages out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.whatsapp import normalise, render
from adapters.whatsapp.client import CloudApiClient
from adapters.whatsapp.settings import WhatsAppSettings
from bot.adapter import AdapterContext, Capabilities, EventSink, MarkupDialect, PermanentError
from bot.messages import (
    ChoiceSelected,
    ConversationKind,
    DeliveryStatus,
    InboundEvent,
    MessageReceived,
    MessageRef,
    OutgoingMessage,
)

log = logging.getLogger(__name__)

PATH = "/whatsapp/webhook"
_REMEMBERED = 10_000

CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=render.MAX_ROWS,
    native_polls=False,
    reply_to=True,
    edits=False,
    groups=False,
    max_text_length=render.TEXT_LIMIT,
    markup=MarkupDialect.WHATSAPP,
    reply_window=timedelta(hours=24),
)


class _Lru:
    """A bounded memory of keys (seen webhook ids, list pages → their first page)."""

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def get(self, key: str) -> str | None:
        return self._items.get(key)

    def put(self, key: str, value: str = "") -> bool:
        """Remember ``key``; False when it was already there."""
        if key in self._items:
            self._items.move_to_end(key)
            return False
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return True


class WhatsAppAdapter:
    name = "whatsapp"
    capabilities = CAPABILITIES

    def __init__(self, settings: WhatsAppSettings, client: CloudApiClient | None = None) -> None:
        self._settings = settings
        self._client = client or CloudApiClient(
            settings.api_url,
            settings.phone_number_id,
            settings.access_token.get_secret_value(),
            messages_per_second=settings.messages_per_second,
            member_interval_seconds=settings.member_interval_seconds,
            member_burst=settings.member_burst,
            timeout=settings.timeout_seconds,
        )
        self._secret = settings.app_secret.get_secret_value().encode()
        self._sink: EventSink | None = None
        # Events are handled one at a time, in the order Meta sent them, after the 200.
        self._queue: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._seen = _Lru()
        self._pages = _Lru()
        # Members sent the re-opening template and not heard from since: their first
        # words answer the template, not the question they have not seen yet.
        self._reopened: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink
        self._worker = asyncio.create_task(self._work(), name="whatsapp-inbound")

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self._client.aclose()

    async def idle(self) -> None:
        """Wait until every webhook received so far has been handled."""
        await self._queue.join()

    # -- sending -------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        address = message.address
        if address.kind is not ConversationKind.DM:
            raise PermanentError("WhatsApp has no group conversations for Indaba")
        to = address.conversation_id
        if message.reopener:
            body = render.template(self._settings.template_name, self._settings.template_language)
            wamid = await self._client.send(to, body)
            self._reopened.add(to)
            return MessageRef(self.name, to, wamid)
        rendered = render.render(message)
        ids: list[str] = []
        for index, body in enumerate(rendered.bodies):
            reply_to = message.reply_to if index == 0 else None
            ids.append(await self._client.send(to, body, reply_to))
        primary = ids[rendered.primary]
        for page in ids[rendered.primary + 1 :]:
            self._pages.put(page, primary)
        return MessageRef(self.name, to, primary)

    # -- receiving -----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(PATH, self._verify, methods=["GET"]),
            Route(PATH, self._receive, methods=["POST"]),
        ]

    async def _verify(self, request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        expected = self._settings.verify_token.get_secret_value()
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), expected.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.warning("WhatsApp webhook verification refused (wrong mode or verify token)")
        return PlainTextResponse("forbidden", status_code=403)

    def signature_ok(self, body: bytes, header: str) -> bool:
        expected = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), header.encode())

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        if not self.signature_ok(body, request.headers.get("x-hub-signature-256", "")):
            log.warning("WhatsApp webhook with a bad or missing signature refused")
            return PlainTextResponse("bad signature", status_code=401)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return PlainTextResponse("malformed JSON", status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("malformed payload", status_code=400)
        try:
            events = normalise.normalise(payload)
        except (AttributeError, KeyError, TypeError, ValueError):
            log.warning("WhatsApp webhook of an unexpected shape ignored")
            events = []
        for event in events:
            if self._seen.put(self._key(event)):
                self._queue.put_nowait(self._after_template(self._resolve_page(event)))
        return PlainTextResponse("ok")

    @staticmethod
    def _key(event: InboundEvent) -> str:
        suffix = f":{event.status}" if isinstance(event, DeliveryStatus) else ""
        return f"{type(event).__name__}:{event.message_id}{suffix}"

    def _resolve_page(self, event: InboundEvent) -> InboundEvent:
        """A tap on page 2 of a long list names page 2's id; the outbox knows page 1's."""
        if isinstance(event, ChoiceSelected):
            first = self._pages.get(event.choice_message_id)
            if first:
                return ChoiceSelected(
                    event.conversation,
                    event.sender,
                    event.message_id,
                    raw=event.raw,
                    choice_message_id=first,
                    choice_ids=event.choice_ids,
                    toggle=event.toggle,
                )
        return event

    def _after_template(self, event: InboundEvent) -> InboundEvent:
        """The first text after the template opens the window; it is not an answer."""
        if isinstance(event, DeliveryStatus) or event.sender.user_id not in self._reopened:
            return event
        self._reopened.discard(event.sender.user_id)
        if isinstance(event, MessageReceived) and event.text and not event.unsupported:
            return MessageReceived(
                event.conversation, event.sender, event.message_id, raw=event.raw
            )
        return event

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if self._sink is not None:
                    await self._sink(event)
            except Exception:
                log.exception("handling a WhatsApp %s failed", type(event).__name__)
            finally:
                self._queue.task_done()
