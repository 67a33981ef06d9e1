"""The WhatsApp adapter: Cloud API webhooks in, Cloud API messages out.

It keeps no state of its own: which list page belongs to which message travels in
the rows' ids, and what a member's next message answers is the engine's to decide
from the database, so a restart changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from starlette.routing import BaseRoute

from adapters.whatsapp import render
from adapters.whatsapp.client import CloudApiClient
from adapters.whatsapp.normalise import PLATFORM
from adapters.whatsapp.settings import WhatsAppSettings
from adapters.whatsapp.webhook import PATH, Webhook
from bot.adapter import AdapterContext, Capabilities, EventSink, MarkupDialect, PermanentError
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
        rendered = render.render(message)
        ids: list[str] = []
        for index, body in enumerate(rendered.bodies):
            reply_to = message.reply_to if index == 0 else None
            if index > rendered.primary and body["type"] == "interactive":
                body = render.aliased_page(body, ids[rendered.primary])
            ids.append(await self._client.send(to, body, reply_to))
        return MessageRef(self.name, to, ids[rendered.primary])

    # -- receiving -----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return self._webhook.routes()

    async def _deliver(self, events: Sequence[InboundEvent]) -> None:
        if self._sink is None:
            raise NotStarted("the WhatsApp adapter has not started")
        for event in events:
            await self._sink(event)


__all__ = ["CAPABILITIES", "PATH", "PLATFORM", "WhatsAppAdapter"]
