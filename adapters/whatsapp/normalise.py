"""WhatsApp webhook payloads → Indaba's neutral events (pure functions).

One function per message type, chosen from a dispatch table, like the other adapters.
Every conversation is a DM whose id is the member's ``wa_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    Conversation,
    ConversationKind,
    DeliveryStatus,
    InboundEvent,
    MessageReceived,
    Sender,
    parse_command,
)

log = logging.getLogger(__name__)

PLATFORM = "whatsapp"
STATUSES = frozenset({"sent", "delivered", "read", "failed"})

Payload = Mapping[str, Any]
Normaliser = Callable[[Payload, Conversation, Sender], InboundEvent | None]


def _sent_at(message: Payload) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(message["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _context_id(message: Payload) -> str | None:
    context = message.get("context")
    if isinstance(context, Mapping) and context.get("id"):
        return str(context["id"])
    return None


def _text(message: Payload, conversation: Conversation, sender: Sender) -> InboundEvent | None:
    body = str((message.get("text") or {}).get("body", ""))
    wamid = str(message["id"])
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


def _interactive(
    message: Payload, conversation: Conversation, sender: Sender
) -> InboundEvent | None:
    interactive = message.get("interactive") or {}
    kind = interactive.get("type")
    reply = interactive.get(kind) if kind in ("button_reply", "list_reply") else None
    if not isinstance(reply, Mapping) or "id" not in reply:
        return _unsupported(message, conversation, sender)
    return ChoiceSelected(
        conversation,
        sender,
        str(message["id"]),
        raw=message,
        choice_message_id=_context_id(message) or "",
        choice_ids=(str(reply["id"]),),
        toggle=True,
    )


def _opens_window(
    message: Payload, conversation: Conversation, sender: Sender
) -> InboundEvent | None:
    """A tap on a template's quick-reply button or a reaction: the member is back
    (their window opens and held messages go out) but there is nothing to answer."""
    return MessageReceived(
        conversation, sender, str(message["id"]), raw=message, sent_at=_sent_at(message)
    )


def _unsupported(
    message: Payload, conversation: Conversation, sender: Sender
) -> InboundEvent | None:
    return MessageReceived(
        conversation,
        sender,
        str(message["id"]),
        raw=message,
        sent_at=_sent_at(message),
        unsupported=str(message.get("type") or "message"),
    )


MESSAGE_TYPES: dict[str, Normaliser] = {
    "text": _text,
    "interactive": _interactive,
    "button": _opens_window,
    "reaction": _opens_window,
}


def normalise_message(message: Payload, names: Mapping[str, str]) -> InboundEvent | None:
    """One entry of ``value.messages``; ``names`` maps wa_id to the profile name."""
    wa_id = str(message.get("from", ""))
    if not wa_id or not message.get("id"):
        return None
    conversation = Conversation(PLATFORM, wa_id, ConversationKind.DM)
    sender = Sender(PLATFORM, wa_id, names.get(wa_id) or f"+{wa_id}")
    handler = MESSAGE_TYPES.get(str(message.get("type")), _unsupported)
    return handler(message, conversation, sender)


def normalise_status(status: Payload) -> DeliveryStatus | None:
    """One entry of ``value.statuses``: what became of a message Indaba sent."""
    state = str(status.get("status", ""))
    recipient = str(status.get("recipient_id", ""))
    if state not in STATUSES or not status.get("id") or not recipient:
        return None
    error = None
    errors = status.get("errors") or []
    if errors and isinstance(errors[0], Mapping):
        first = errors[0]
        error = f"{first.get('code')}: {first.get('title') or first.get('message') or ''}".strip()
    return DeliveryStatus(
        Conversation(PLATFORM, recipient, ConversationKind.DM),
        Sender(PLATFORM, recipient, f"+{recipient}"),
        str(status["id"]),
        raw=status,
        status=state,
        error=error,
    )


def normalise(payload: Payload) -> list[InboundEvent]:
    """A whole webhook body → the neutral events it holds, in order."""
    events: list[InboundEvent] = []
    if payload.get("object") != "whatsapp_business_account":
        return events
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            names = {
                str(contact.get("wa_id")): str((contact.get("profile") or {}).get("name") or "")
                for contact in value.get("contacts") or []
            }
            for message in value.get("messages") or []:
                event = normalise_message(message, names)
                if event is not None:
                    events.append(event)
            for status in value.get("statuses") or []:
                delivery = normalise_status(status)
                if delivery is not None:
                    events.append(delivery)
    return events
