"""The engine's boundary for adapters: the protocol, what an adapter is handed at start,
the errors it raises, and the operator controls a driving adapter (the console) uses.

Adapters import only this module, :mod:`bot.messages`, :mod:`bot.markup` and
:mod:`bot.pacing`; everything else reaches them through :class:`AdapterContext`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import BaseRoute

from bot.messages import Attachment, InboundEvent, MessageRef, OutgoingMessage

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
    # A page of the member's own the engine can publish an overview to (Slack's App
    # Home tab): messages addressed to ConversationKind.HOME replace it.
    home_tab: bool = False
    # A button press can be answered with a short note on the member's screen
    # (Telegram's answerCallbackQuery toast): a message whose ``reply_to`` is the
    # press's ``message_id`` is shown that way instead of being sent.
    press_notes: bool = False


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """One ``/command`` as every platform offers it (from the engine's registry).

    ``summary`` is the one-line English help text (Telegram's command menu, Slack's
    usage hint); ``group`` is false for commands that only make sense in a DM.
    """

    name: str
    usage: str
    summary: str = ""
    facilitator_only: bool = False
    needs_member: bool = True
    hidden: bool = False
    group: bool = True


class TextSource(Protocol):
    """The engine's texts (``prompts/``) for what an adapter shows by itself, such as a
    form's labels, in the language of the member who will read them."""

    def render(self, key: str, language: str, /, **values: object) -> str:
        """The text ``key`` in ``language`` (English where it is missing)."""
        ...

    async def language_of(self, platform: str, user_id: str) -> str:
        """The language of the member behind a platform account (the community's, or
        English, for an account Indaba does not know)."""
        ...


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What the wiring hands an adapter at ``start``: where inbound events go, the
    commands the engine answers (visible ones, aliases left out), and the texts."""

    sink: EventSink
    commands: tuple[CommandInfo, ...] = ()
    texts: TextSource | None = None


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


def describe_validation_error(prefix: str, error: ValidationError) -> str:
    """One line naming each bad setting, for the operator."""
    parts = []
    for item in error.errors():
        name = prefix + "_".join(str(loc) for loc in item["loc"]).upper()
        parts.append(f"{name}: {item['msg']}")
    return "bad setting " + "; ".join(parts)


# The default limit on an inbound request body (Meta, Slack and Telegram send far less).
BODY_LIMIT = 1024 * 1024


class BodyTooLarge(Exception):
    """An inbound request body is over the limit; answer 413."""


async def read_body_limited(request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The request body, read in chunks; :class:`BodyTooLarge` as soon as it passes
    ``limit`` bytes, without reading the rest (a declared length over it is refused
    before any chunk is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"declared {declared} bytes, limit {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


ATTACHMENT_LIMIT = 20 * 1024 * 1024
"""The largest file an adapter uploads (below each platform's own limit for documents)."""


async def attachment_bytes(
    attachment: Attachment, fetch: Callable[[str], Awaitable[bytes]]
) -> bytes:
    """The bytes of ``attachment``: a ``data:`` URL is decoded here, any other URL is
    read with ``fetch`` (the adapter's own HTTP client, pointed at Indaba's signed link).

    Raises :class:`PermanentError` for a malformed ``data:`` URL or a file over
    :data:`ATTACHMENT_LIMIT`; the URL itself is never put in the error (it may hold the
    file, or a signature).
    """
    url = attachment.url
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        try:
            body = (
                base64.b64decode(payload, validate=True)
                if header.endswith(";base64")
                else payload.encode()
            )
        except (binascii.Error, ValueError) as error:
            raise PermanentError(f"attachment {attachment.filename}: bad data URL") from error
    else:
        body = await fetch(url)
    if len(body) > ATTACHMENT_LIMIT:
        raise PermanentError(
            f"attachment {attachment.filename}: {len(body)} bytes, over {ATTACHMENT_LIMIT}"
        )
    return body


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


# The reason of an unreachable address whose account itself is gone starts with this.
ACCOUNT_GONE = "account-gone"


class AccountGone(Unreachable):
    """The account itself is gone (deactivated or deleted): the member may be reached on
    another platform, but nobody should ask them in a group to open a chat."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{ACCOUNT_GONE}: {detail}")


def is_account_gone(reason: str | None) -> bool:
    """Whether an unreachable reason says the account itself is gone."""
    return (reason or "").startswith(ACCOUNT_GONE + ":")


# The reason of an unreachable address whose member blocked the bot starts with this.
BLOCKED = "blocked"


class Blocked(Unreachable):
    """The member blocked the bot: they may be reached on another platform, but are
    never named in a group to ask them to open a chat."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{BLOCKED}: {detail}")


def is_blocked(reason: str | None) -> bool:
    """Whether an unreachable reason says the member blocked the bot."""
    return (reason or "").startswith(BLOCKED + ":")


class WindowClosed(DeliveryError):
    """The platform's reply window is closed for this member; a re-opener is needed."""


class PermanentError(DeliveryError):
    """The message itself is refused; retrying will not help."""


class DeliveryFailure(StrEnum):
    """Why a message the platform first accepted was not delivered, as a ``failed``
    :class:`~bot.messages.DeliveryStatus` reports it: its ``error`` starts with one of
    these and a colon (``"window-closed: 131047 Re-engagement message"``). Each is
    handled like the :class:`DeliveryError` of the same name raised by ``send``."""

    WINDOW_CLOSED = "window-closed"  # like WindowClosed: hold, re-open, send again
    UNREACHABLE = "unreachable"  # like Unreachable
    RETRY = "retry"  # like RetryAfter / TransientError: send again later
    REFUSED = "refused"  # like PermanentError

    @classmethod
    def of(cls, error: str | None) -> DeliveryFailure | None:
        """The failure an ``error`` text names, if it names one."""
        head = (error or "").split(":", 1)[0].strip()
        return cls(head) if head in cls._value2member_map_ else None


@runtime_checkable
class Adapter(Protocol):
    """A platform adapter.

    Lifecycle: ``start(context)`` once (the adapter calls ``context.sink`` with neutral events;
    raise :class:`StartupError` with one clear line when it cannot start), ``send()``
    from the delivery loop, ``aclose()`` at shutdown. A DM address carries the
    platform's user id as ``conversation_id``; the adapter opens the direct line
    itself where the platform needs that.
    """

    name: str
    capabilities: Capabilities

    async def start(self, context: AdapterContext) -> None: ...

    async def send(self, message: OutgoingMessage) -> MessageRef: ...

    async def aclose(self) -> None: ...

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes the adapter mounts on Indaba's server (webhooks)."""
        ...


class ControlError(Exception):
    """An operator action was refused; ``key`` names the reason (a text key), ``message``
    says it in words once the texts were at hand."""

    def __init__(self, key: str, message: str = "") -> None:
        super().__init__(message or key)
        self.key = key
        self.message = message


class Control(Protocol):
    """What an operator can do to a running Indaba: used by the console and by tests."""

    def now(self) -> datetime: ...

    async def advance(self, delta: timedelta) -> datetime:
        """Move the virtual clock forward and play out the timetable."""
        ...

    async def settle(self) -> None:
        """Run what is due and deliver everything the outbox holds now."""
        ...

    async def create_community(
        self, name: str, timezone: str, language: str = "en"
    ) -> tuple[str, str]:
        """Create a community; return its one-time facilitator code and a join code.

        Raises :class:`ControlError` when the name is taken or the timezone unknown.
        """
        ...

    async def describe(self) -> str:
        """A few lines on communities, the next meetings and the outbox."""
        ...

    async def ran_since(self, since: datetime) -> list[str]:
        """What the timetable ran or skipped after ``since``, one line a step."""
        ...


class ControlledAdapter(Protocol):
    """An adapter that drives Indaba itself (the console)."""

    def attach(self, control: Control) -> None: ...

    async def run_until_done(self) -> None: ...
