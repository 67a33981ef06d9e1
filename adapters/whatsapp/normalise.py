"""WhatsApp webhook payloads → Indaba's neutral events (pure functions).

One function per message type, chosen from a dispatch table, like the other adapters.
Every conversation is a DM whose id is the member's ``wa_id``. A body of the wrong
shape raises :class:`Malformed` naming what is wrong (the webhook answers 400); a
message of a type Indaba does not read becomes an ``unsupported`` message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.whatsapp.client import failure_of
from adapters.whatsapp.render import unalias
from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    Conversation,
    ConversationKind,
    DeliveryStatus,
    EventRejected,
    InboundEvent,
    MessageReceived,
    Sender,
    parse_command,
    storable,
)

PLATFORM = "whatsapp"
STATUSES = frozenset({"sent", "delivered", "read", "failed"})

Payload = Mapping[str, Any]
Normaliser = Callable[[Payload, Conversation, Sender], InboundEvent]


class Malformed(ValueError):
    """The body is JSON but not a WhatsApp webhook of a shape Indaba knows."""


def _mapping(value: Any, what: str) -> Payload:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Malformed(f"{what} is not an object")
    return value


def _items(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a list")
    return value


def _string(value: Any, what: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{what} is not a string")
    text = str(value)
    if required and not text:
        raise Malformed(f"{what} is empty")
    return text


def _sent_at(message: Payload) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(message["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


def _context_id(message: Payload) -> str | None:
    context = _mapping(message.get("context"), "message.context")
    found = context.get("id")
    return _string(found, "message.context.id") if found else None


def _text(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent:
    body = _string(_mapping(message.get("text"), "text").get("body"), "text.body", required=False)
    wamid = _string(message.get("id"), "message.id")
    reply_to = _context_id(message)
    parsed = parse_command(body)
    if parsed is not None:
        return CommandInvoked(
            conversation,
            sender,
            wamid,
            raw=message,
            command=parsed[0],
            args=parsed[1],
            reply_to_id=reply_to,
        )
    return MessageReceived(
        conversation,
        sender,
        wamid,
        raw=message,
        text=body,
        reply_to_id=reply_to,
        sent_at=_sent_at(message),
    )


def _interactive(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent:
    interactive = _mapping(message.get("interactive"), "interactive")
    kind = interactive.get("type")
    if kind not in ("button_reply", "list_reply"):
        return _unsupported(message, conversation, sender)
    reply = _mapping(interactive.get(kind), f"interactive.{kind}")
    if "id" not in reply:
        return _unsupported(message, conversation, sender)
    choice_id = _string(reply["id"], f"interactive.{kind}.id")
    # A row on page 2 of a long list names the list's first page in its id.
    first_page, choice_id = unalias(choice_id)
    return ChoiceSelected(
        conversation,
        sender,
        _string(message.get("id"), "message.id"),
        raw=message,
        choice_message_id=first_page or _context_id(message) or "",
        choice_ids=(choice_id,),
        toggle=True,
    )


def _template_button(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent:
    """A tap on the re-opening template's quick-reply button: the member answers the
    template (the window opens, held messages go out); it is a choice on that message."""
    wamid = _string(message.get("id"), "message.id")
    template = _context_id(message)
    if template is None:
        return _opens_window(message, conversation, sender)
    button = _mapping(message.get("button"), "button")
    payload = _string(button.get("payload") or button.get("text") or "open", "button.payload")
    return ChoiceSelected(
        conversation,
        sender,
        wamid,
        raw=message,
        choice_message_id=template,
        choice_ids=(payload,),
    )


def _opens_window(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent:
    """A reaction: the member is back (their window opens and held messages go out) but
    there is nothing to answer."""
    return MessageReceived(
        conversation,
        sender,
        _string(message.get("id"), "message.id"),
        raw=message,
        sent_at=_sent_at(message),
    )


def _unsupported(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent:
    kind = message.get("type")
    return MessageReceived(
        conversation,
        sender,
        _string(message.get("id"), "message.id"),
        raw=message,
        sent_at=_sent_at(message),
        unsupported=kind if isinstance(kind, str) and kind else "message",
    )


MESSAGE_TYPES: dict[str, Normaliser] = {
    "text": _text,
    "interactive": _interactive,
    "button": _template_button,
    "reaction": _opens_window,
}


def normalise_message(message: Any, names: Mapping[str, str]) -> InboundEvent:
    """One entry of ``value.messages``; ``names`` maps wa_id to the profile name."""
    message = _mapping(message, "message")
    wa_id = _string(message.get("from"), "message.from")
    _string(message.get("id"), "message.id")
    conversation = Conversation(PLATFORM, wa_id, ConversationKind.DM)
    sender = Sender(PLATFORM, wa_id, names.get(wa_id) or f"+{wa_id}")
    kind = message.get("type")
    handler = MESSAGE_TYPES.get(kind, _unsupported) if isinstance(kind, str) else _unsupported
    return handler(message, conversation, sender)


def normalise_status(status: Any) -> DeliveryStatus | None:
    """One entry of ``value.statuses``: what became of a message Indaba sent.

    A ``failed`` status names its failure (see :class:`bot.adapter.DeliveryFailure`)
    by the error code Meta reports.
    """
    status = _mapping(status, "status")
    state = _string(status.get("status"), "status.status")
    if state not in STATUSES:
        return None
    wamid = _string(status.get("id"), "status.id")
    recipient = _string(status.get("recipient_id"), "status.recipient_id")
    error = None
    if state == "failed":
        errors = _items(status.get("errors"), "status.errors")
        first = _mapping(errors[0], "status.errors[0]") if errors else {}
        raw_code = first.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        title = first.get("title") or first.get("message") or ""
        detail = f"{code if code is not None else '?'} {title if isinstance(title, str) else ''}"
        error = f"{failure_of(code)}: {detail.strip()}"
    return DeliveryStatus(
        Conversation(PLATFORM, recipient, ConversationKind.DM),
        Sender(PLATFORM, recipient, f"+{recipient}"),
        wamid,
        raw=status,
        status=state,
        error=error,
    )


def _names(value: Payload) -> dict[str, str]:
    names = {}
    for contact in _items(value.get("contacts"), "value.contacts"):
        contact = _mapping(contact, "contact")
        wa_id = contact.get("wa_id")
        name = _mapping(contact.get("profile"), "contact.profile").get("name")
        if isinstance(wa_id, str) and isinstance(name, str):
            names[wa_id] = name
    return names


def normalise(payload: Any) -> list[InboundEvent]:
    """A whole webhook body → the neutral events it holds, in order.

    Raises :class:`Malformed` when the body is not of a shape Indaba knows. Other
    objects than a WhatsApp business account, and fields other than ``messages``,
    hold nothing for Indaba.
    """
    payload = _mapping(payload, "body")
    if payload.get("object") != "whatsapp_business_account":
        return []
    events: list[InboundEvent] = []
    for entry in _items(payload.get("entry"), "entry"):
        entry = _mapping(entry, "entry[]")
        for change in _items(entry.get("changes"), "entry[].changes"):
            change = _mapping(change, "change")
            if change.get("field") != "messages":
                continue
            value = _mapping(change.get("value"), "change.value")
            names = _names(value)
            for message in _items(value.get("messages"), "value.messages"):
                events.append(normalise_message(message, names))
            for status in _items(value.get("statuses"), "value.statuses"):
                delivery = normalise_status(status)
                if delivery is not None:
                    events.append(delivery)
    try:
        return [storable(event) for event in events]
    except EventRejected as error:
        raise Malformed(str(error)) from None
