"""The neutral message model shared by the engine and every adapter.

Adapters normalise platform payloads into the inbound events below and render the
outgoing :class:`OutgoingMessage` into platform calls. Nothing here knows a platform.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar


class ConversationKind(StrEnum):
    GROUP = "group"
    DM = "dm"
    # A member's own page (Slack's App Home tab), replaced by each message sent to it.
    HOME = "home"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an event, as the platform knows them."""

    platform: str
    user_id: str
    display_name: str
    language: str | None = None
    timezone: str | None = None


# A group conversation id may name one part of a group (a forum topic) as ``GROUP/PART``:
# answers go to that part, and the part belongs to the space of GROUP.
PART_SEPARATOR = "/"


def group_of(conversation_id: str) -> str:
    """The group a conversation id belongs to (``GROUP`` for ``GROUP/PART``, else itself)."""
    return conversation_id.split(PART_SEPARATOR, 1)[0]


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where an event happened: a group channel or a direct-message line.

    ``previous_id`` is set when the platform moved the conversation to a new id (a
    Telegram group upgraded to a supergroup): the engine moves its space, with the
    community and the queued messages, to ``id``. ``reachable`` is false when the bot
    can no longer write there (removed from the group, blocked in a DM); any other
    event from a conversation shows it is reachable again. ``inferred`` is true when
    the event did not pass through this conversation (a Telegram poll answer names the
    voter's private chat, though they voted in a group): it then shows nothing.
    """

    platform: str
    id: str
    kind: ConversationKind
    title: str | None = None
    previous_id: str | None = None
    reachable: bool = True
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class Address:
    """Where an outgoing message goes.

    For a DM, ``conversation_id`` may be the platform's user id: the adapter opens
    the direct line itself when the platform needs that (Slack's ``conversations.open``).
    ``ephemeral_to`` asks for a reply only that user sees in a group, where the
    platform offers it.
    """

    platform: str
    kind: ConversationKind
    conversation_id: str
    thread_id: str | None = None
    ephemeral_to: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered with a message: a button, a poll option or a numbered line.

    ``number`` is what the message's text already shows for this option (a ballot's
    item numbers, 11 and 12 on its second part) and what a member types to choose it;
    None numbers the options 1, 2, ... and leaves it to the platform to show them.
    """

    id: str
    label: str
    description: str | None = None
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A member named so the platform notifies them (``<@U1>``, a Telegram user link)."""

    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message as a document (a meeting's poster).

    ``url`` is where the adapter fetches the bytes: a signed link on Indaba's own HTTP
    server, so no file travels through the outbox. ``filename`` and ``media_type``
    (``application/pdf``) are what the platform shows and needs for its upload.
    """

    url: str
    filename: str
    media_type: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message the engine wants delivered.

    ``text`` is in Indaba's neutral markup (see :mod:`bot.markup`); adapters render it
    in their own dialect. ``choices`` are offered as buttons or a poll where the
    platform has them; the engine adds numbered lines where it has not.
    ``edit_of`` replaces the text of a message sent earlier instead of sending a new one;
    ``close_poll`` stops the native poll sent as ``edit_of``. ``reopener`` asks the
    platform's re-opening message (WhatsApp's approved template) instead of ``text``.
    ``mention`` is shown before the text; ``invite_to_dm`` asks the adapter to add its
    way into a direct chat with the bot (Telegram's ``t.me/<bot>?start`` deep link).
    ``attachment`` is a file to send as a document with ``text`` as its caption; the
    text names the same link, so a platform that cannot send documents loses nothing.
    """

    address: Address
    text: str
    choices: tuple[Choice, ...] = ()
    multi_select: bool = False
    poll: bool = False
    reply_to: str | None = None
    edit_of: str | None = None
    close_poll: bool = False
    reopener: bool = False
    mention: Mention | None = None
    invite_to_dm: bool = False
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class MessageRef:
    """What the platform answered for a sent message (``poll_id`` for a native poll)."""

    platform: str
    conversation_id: str
    message_id: str
    poll_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """Fields every inbound event carries."""

    conversation: Conversation
    sender: Sender
    message_id: str | None = None
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def platform(self) -> str:
        return self.conversation.platform


@dataclass(frozen=True, slots=True)
class MessageReceived(InboundEvent):
    """A plain text message (anything that is not a command)."""

    text: str = ""
    reply_to_id: str | None = None
    thread_id: str | None = None
    sent_at: datetime | None = None
    # Set (e.g. "image", "sticker") when the member sent something other than text.
    unsupported: str | None = None


@dataclass(frozen=True, slots=True)
class CommandInvoked(InboundEvent):
    """A ``/command args`` typed by a member (slash command or text starting with ``/``)."""

    command: str = ""
    args: str = ""
    reply_to_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChoiceSelected(InboundEvent):
    """A button press, a poll answer or a list selection.

    With ``toggle`` false, ``choice_ids`` is the member's whole current selection for
    the message named by ``choice_message_id`` (an empty tuple retracts the vote), as
    a poll answer reports it, so a re-delivered update changes nothing. With
    ``toggle`` true (a button press) each id flips that one choice. A poll answer
    names its poll by ``poll_id`` when the platform does not give the message id; its
    ``choice_ids`` are then the 0-based positions of the chosen options, as strings.
    """

    choice_message_id: str = ""
    choice_ids: tuple[str, ...] = ()
    toggle: bool = False
    poll_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEdited(InboundEvent):
    """A member edited a message they sent earlier (``message_id``)."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class MemberJoined(InboundEvent):
    """A member joined a group conversation."""


@dataclass(frozen=True, slots=True)
class ConversationChanged(InboundEvent):
    """The platform reports a change to the conversation itself: it moved to a new id
    (``conversation.previous_id``), or the bot was removed, re-added, blocked or
    unblocked (``conversation.reachable``). The engine applies it when it records the
    conversation; nobody is answered."""


@dataclass(frozen=True, slots=True)
class DeliveryStatus(InboundEvent):
    """The platform reports what became of a message Indaba sent (``message_id``)."""

    status: str = ""
    error: str | None = None


def parse_command(text: str) -> tuple[str, str] | None:
    """Split ``/cmd@bot args`` into ``("cmd", "args")``; ``None`` when it is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2 or not stripped[1].isalpha():
        return None
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, rest.strip()


# -- what can be stored ----------------------------------------------------------------

ID_LENGTH = 128
"""The longest platform id (user, conversation, message) Indaba stores; no platform's
ids come near it."""

# A code point no encoding can write: half of a UTF-16 pair without its other half
# (JSON's "\ud800" decodes to one), and NUL, which PostgreSQL stores in no text column.
_UNWRITABLE = re.compile("[\ud800-\udfff]")

Event = TypeVar("Event", bound=InboundEvent)


class EventRejected(ValueError):
    """An inbound event no platform sends (an id longer than :data:`ID_LENGTH`): the
    request is malformed, answered 400, never stored."""


def _writable(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    if _UNWRITABLE.search(text) is None and "\x00" not in text:
        return text
    return _UNWRITABLE.sub("\ufffd", text).replace("\x00", "")


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def stored_fields(cls: type[Any]) -> tuple[str, ...]:
    """The names of a dataclass's fields that are stored (all but ``raw``); empty for
    any other type. Looked up once per class: asking each value whether it is a
    dataclass (which, for an enum member, goes through the enum's slow attribute
    lookup) cost a fifth of acknowledging a webhook."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = (
            tuple(f.name for f in dataclasses.fields(cls) if f.name != "raw")
            if dataclasses.is_dataclass(cls)
            else ()
        )
    return names


def _clean(value: Any) -> Any:
    """``value`` with every text in it writable; the same object when nothing changed."""
    kind = type(value)
    if kind is str:  # not a StrEnum member (a kind), which stays what it is
        return _writable(value)
    if kind is tuple:
        items = tuple(_clean(item) for item in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    changes = {}
    for name in stored_fields(kind):
        old = getattr(value, name)
        new = _clean(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


def storable(event: Event) -> Event:
    """``event`` as every database can store it: a lone surrogate in any text becomes
    U+FFFD and NUL characters are dropped (a member's answer keeps every other
    character). Raises :class:`EventRejected` for an id over :data:`ID_LENGTH`."""
    ids = (
        event.conversation.id,
        event.conversation.previous_id,
        event.sender.user_id,
        event.message_id,
    )
    if any(value is not None and len(value) > ID_LENGTH for value in ids):
        raise EventRejected(f"{type(event).__name__} with an id over {ID_LENGTH} characters")
    cleaned = _clean(event)
    assert isinstance(cleaned, type(event))
    return cleaned
