"""The adapter protocol: what the engine asks of every platform adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from starlette.routing import BaseRoute

from bot.messages import InboundEvent, MessageRef, OutgoingMessage

EventSink = Callable[[InboundEvent], Awaitable[None]]


class MarkupDialect(StrEnum):
    PLAIN = "plain"
    SLACK_MRKDWN = "slack-mrkdwn"
    TELEGRAM_HTML = "telegram-html"
    WHATSAPP = "whatsapp"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do; the engine degrades where it cannot."""

    buttons: bool = False
    max_buttons: int = 0
    native_polls: bool = False
    max_poll_options: int = 0
    threads: bool = False
    reply_to: bool = False
    ephemeral: bool = False
    edits: bool = False
    groups: bool = True
    max_text_length: int = 4000
    markup: MarkupDialect = MarkupDialect.PLAIN
    # Platforms that only allow free-form messages for a while after the member's
    # last message (WhatsApp's 24 hours); outside it a re-opener is sent first.
    reply_window: timedelta | None = None


class StartupError(Exception):
    """An adapter cannot start (wrong token, bad setting); the message is one line."""


class DeliveryError(Exception):
    """Base of the errors an adapter raises from :meth:`Adapter.send`."""


class TransientError(DeliveryError):
    """Worth retrying with backoff (network error, 5xx)."""


class RetryAfter(DeliveryError):
    """The platform asked us to wait; not a failure of the message."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The address cannot be reached (blocked, never started the bot, left)."""


class WindowClosed(DeliveryError):
    """The platform's reply window is closed for this member; a re-opener is needed."""


class PermanentError(DeliveryError):
    """The message itself is refused; retrying will not help."""


@runtime_checkable
class Adapter(Protocol):
    """A platform adapter.

    Lifecycle: ``start(sink)`` once (the adapter calls ``sink`` with neutral events;
    raise :class:`StartupError` with one clear line when it cannot start), ``send()``
    from the delivery loop, ``aclose()`` at shutdown. A DM address carries the
    platform's user id as ``conversation_id``; the adapter opens the direct line
    itself where the platform needs that.
    """

    name: str
    capabilities: Capabilities

    async def start(self, sink: EventSink) -> None: ...

    async def send(self, message: OutgoingMessage) -> MessageRef: ...

    async def aclose(self) -> None: ...

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes the adapter mounts on Indaba's server (webhooks)."""
        ...
