"""The WhatsApp adapter: Cloud API webhooks in, Cloud API messages out.

It keeps no state of its own: which list page belongs to which message travels in
the rows' ids, and what a member's next message answers is the engine's to decide
from the database, so a restart changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta

import httpx
from starlette.routing import BaseRoute

from adapters.whatsapp import render
from adapters.whatsapp.client import CloudApiClient
from adapters.whatsapp.normalise import PLATFORM
from adapters.whatsapp.settings import WhatsAppSettings
from adapters.whatsapp.webhook import PATH, Webhook
from bot.adapter import (
    AdapterContext,
    Capabilities,
    EventSink,
    MarkupDialect,
    PermanentError,
    TransientError,
    attachment_bytes,
)
from bot.messages import ConversationKind, InboundEvent, MessageRef, OutgoingMessage
from bot.pacing import SharedBudget

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


FETCH_TIMEOUT = 60.0
# The loggers that write request URLs (httpx at INFO).
HTTP_LOGGERS = ("httpx", "httpcore")


class HiddenLinks(logging.Filter):
    """Blanks the links being read (a file's signed URL) in the HTTP loggers' records."""

    def __init__(self, loggers: Sequence[str]) -> None:
        super().__init__()
        self._hidden: set[str] = set()
        self._loggers = [logging.getLogger(name) for name in loggers]
        for logger in self._loggers:
            logger.addFilter(self)

    def detach(self) -> None:
        for logger in self._loggers:
            logger.removeFilter(self)

    @contextlib.contextmanager
    def hiding(self, link: str) -> Iterator[None]:
        self._hidden.add(link)
        try:
            yield
        finally:
            self._hidden.discard(link)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._hidden:
            text = record.getMessage()
            for link in self._hidden:
                text = text.replace(link, "[file link]")
            record.msg, record.args = text, None
        return True


class NotStarted(Exception):
    """A webhook arrived before ``start``: answered 503, so Meta delivers it again."""


class WhatsAppAdapter:
    name = PLATFORM
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
        self._sink: EventSink | None = None
        # Files are read from Indaba's signed links by a client without the access token,
        # and httpx's request lines never show those links.
        self._files: httpx.AsyncClient | None = None
        self._links = HiddenLinks(HTTP_LOGGERS)
        self._webhook = Webhook(
            settings.app_secret.get_secret_value().encode(),
            settings.verify_token.get_secret_value(),
            settings.body_limit_bytes,
            self._deliver,
        )

    # -- lifecycle -----------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink

    def share_budget(self, budget: SharedBudget) -> None:
        """Count the number's throughput with every process sending from it."""
        self._client.share_budget(budget)

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._files is not None:
            await self._files.aclose()
        self._links.detach()

    async def idle(self) -> None:
        """Wait until every webhook received so far has been answered (and so stored)."""
        await self._webhook.idle()

    wait_processed = idle

    # -- sending -------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        address = message.address
        if address.kind is not ConversationKind.DM:
            raise PermanentError("WhatsApp has no group conversations for Indaba")
        to = address.conversation_id
        if message.reopener:
            body = render.template(self._settings.template_name, self._settings.template_language)
            return MessageRef(self.name, to, await self._client.send(to, body))
        if message.attachment is not None:
            return MessageRef(self.name, to, await self._send_document(to, message))
        rendered = render.render(message)
        ids: list[str] = []
        for index, body in enumerate(rendered.bodies):
            reply_to = message.reply_to if index == 0 else None
            if index > rendered.primary and body["type"] == "interactive":
                body = render.aliased_page(body, ids[rendered.primary])
            ids.append(await self._client.send(to, body, reply_to))
        return MessageRef(self.name, to, ids[rendered.primary])

    async def _send_document(self, to: str, message: OutgoingMessage) -> str:
        """Upload the file, send it as a document with the text as its caption (the rest
        of a long text follows); returns the document's message id."""
        attachment = message.attachment
        assert attachment is not None
        kind = render.document_type(attachment.media_type)
        if kind is None:
            raise PermanentError(f"WhatsApp takes no {attachment.media_type} documents")
        with self._links.hiding(attachment.url):
            body = await attachment_bytes(attachment, self._fetch)
        media_id = await self._client.upload(body, attachment.filename, kind)
        if message.choices:
            # The choices need the text beside them: the file goes first, bare.
            wamid = await self._client.send(
                to, render.document(media_id, attachment.filename, ""), message.reply_to
            )
            for body_ in render.render(replace(message, attachment=None)).bodies:
                await self._client.send(to, body_)
            return wamid
        caption, rest = render.caption_and_rest(message)
        wamid = await self._client.send(
            to, render.document(media_id, attachment.filename, caption), message.reply_to
        )
        for text in rest:
            await self._client.send(to, text)
        return wamid

    async def _fetch(self, url: str) -> bytes:
        """A file at Indaba's signed link, with a client of its own (no access token);
        errors never quote the link."""
        if self._files is None:
            self._files = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False)
        try:
            answer = await self._files.get(url)
        except httpx.HTTPError as error:
            raise TransientError(f"could not read the file ({type(error).__name__})") from None
        if answer.status_code >= 500:
            raise TransientError(f"the file's link answered {answer.status_code}")
        if answer.status_code != 200:
            raise PermanentError(f"the file's link answered {answer.status_code}")
        return answer.content

    # -- receiving -----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return self._webhook.routes()

    async def _deliver(self, events: Sequence[InboundEvent]) -> None:
        if self._sink is None:
            raise NotStarted("the WhatsApp adapter has not started")
        for event in events:
            await self._sink(event)


__all__ = ["CAPABILITIES", "PATH", "PLATFORM", "WhatsAppAdapter"]
