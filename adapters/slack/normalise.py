"""Slack payloads → Indaba's neutral events: pure functions, one per payload type.

The adapter looks the acting user up (``users.info``) and passes the resulting
:class:`~bot.messages.Sender` in; everything else comes from the payload. The Slack
``ts`` is the message id, so a retried event (``X-Slack-Retry-Num``) is the same
event to the engine and is handled once; slash commands carry no ``ts`` and use their
``trigger_id``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    Conversation,
    ConversationKind,
    InboundEvent,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    Sender,
)

PLATFORM = "slack"

Payload = Mapping[str, Any]
Normaliser = Callable[[Payload, Sender], InboundEvent | None]

# Plain messages and the subtypes that are still a member writing something new.
_NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[:,]?\s*")


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` as entities; the engine wants what was typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _is_dm(channel_id: str, channel_type: str | None = None) -> bool:
    if channel_type is not None:
        return channel_type == "im"
    return channel_id.startswith("D")


def conversation(
    channel_id: str, user_id: str, *, dm: bool, title: str | None = None
) -> Conversation:
    """A DM is named by the member's user id (the adapter opens the channel itself)."""
    if dm:
        return Conversation(PLATFORM, user_id, ConversationKind.DM)
    return Conversation(PLATFORM, channel_id, ConversationKind.GROUP, title)


def _sent_at(ts: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts or ""), tz=UTC)
    except ValueError:
        return None


def payload_kind(body: Payload) -> str:
    """``command`` for a slash command, otherwise the payload's ``type``."""
    if "command" in body and "trigger_id" in body:
        return "command"
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return f"event:{event.get('type')}"
    return str(body.get("type"))


def actor(body: Payload) -> str | None:
    """The user who did what the payload reports."""
    kind = payload_kind(body)
    if kind == "command":
        return str(body.get("user_id") or "") or None
    if kind == "block_actions":
        return str((body.get("user") or {}).get("id") or "") or None
    event = body.get("event") or {}
    if event.get("subtype") == "message_changed":
        return str((event.get("message") or {}).get("user") or "") or None
    return str(event.get("user") or "") or None


def is_from_a_bot(body: Payload) -> bool:
    """Messages from bots (Indaba's own included) are never answered."""
    event = body.get("event") or {}
    inner = event.get("message") or {}
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or inner.get("bot_id")
        or inner.get("subtype") == "bot_message"
    )


# -- one function per payload type ---------------------------------------------------------


def slash_command(body: Payload, sender: Sender) -> InboundEvent | None:
    channel_id = str(body.get("channel_id", ""))
    dm = body.get("channel_name") == "directmessage" or _is_dm(channel_id)
    return CommandInvoked(
        conversation(channel_id, sender.user_id, dm=dm, title=body.get("channel_name")),
        sender,
        str(body.get("trigger_id") or "") or None,
        raw=dict(body),
        command=str(body.get("command", "")).lstrip("/").lower(),
        args=unescape(str(body.get("text", ""))).strip(),
    )


def block_actions(body: Payload, sender: Sender) -> InboundEvent | None:
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    channel_id = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    value = action.get("value")
    if not message_ts or value is None:
        return None
    return ChoiceSelected(
        conversation(channel_id, sender.user_id, dm=_is_dm(channel_id)),
        sender,
        str(action.get("action_ts") or "") or None,
        raw=dict(body),
        choice_message_id=message_ts,
        choice_ids=(str(value),),
        toggle=True,
    )


def message_event(body: Payload, sender: Sender) -> InboundEvent | None:
    event = body.get("event") or {}
    subtype = event.get("subtype")
    if is_from_a_bot(body):
        return None
    channel_id = str(event.get("channel", ""))
    dm = _is_dm(channel_id, event.get("channel_type"))
    if subtype == "message_changed":
        inner = event.get("message") or {}
        if not inner.get("ts"):
            return None
        return MessageEdited(
            conversation(channel_id, sender.user_id, dm=dm),
            sender,
            str(inner["ts"]),
            raw=dict(body),
            text=unescape(str(inner.get("text", ""))),
        )
    if subtype not in _NEW_MESSAGE_SUBTYPES or not event.get("ts"):
        return None
    text = unescape(str(event.get("text", "")))
    unsupported = "file" if subtype == "file_share" and not text.strip() else None
    thread_ts = event.get("thread_ts")
    # A reply in a thread answers the message that started it (a question, a ballot).
    thread = str(thread_ts) if thread_ts and thread_ts != event["ts"] else None
    return MessageReceived(
        conversation(channel_id, sender.user_id, dm=dm),
        sender,
        str(event["ts"]),
        raw=dict(body),
        text=text,
        reply_to_id=thread,
        thread_id=thread,
        sent_at=_sent_at(str(event["ts"])),
        unsupported=unsupported,
    )


def app_mention(body: Payload, sender: Sender) -> InboundEvent | None:
    event = body.get("event") or {}
    if is_from_a_bot(body) or not event.get("ts"):
        return None
    channel_id = str(event.get("channel", ""))
    thread_ts = event.get("thread_ts")
    thread = str(thread_ts) if thread_ts and thread_ts != event["ts"] else None
    # Same type, conversation and ts as the ``message`` event Slack also sends for it,
    # so the engine handles the pair once.
    return MessageReceived(
        conversation(channel_id, sender.user_id, dm=_is_dm(channel_id)),
        sender,
        str(event["ts"]),
        raw=dict(body),
        text=_LEADING_MENTION.sub("", unescape(str(event.get("text", "")))),
        reply_to_id=thread,
        thread_id=thread,
        sent_at=_sent_at(str(event["ts"])),
    )


def member_joined_channel(body: Payload, sender: Sender) -> InboundEvent | None:
    event = body.get("event") or {}
    channel_id = str(event.get("channel", ""))
    if not channel_id:
        return None
    stamp = event.get("event_ts") or body.get("event_id")
    return MemberJoined(
        conversation(channel_id, sender.user_id, dm=False),
        sender,
        f"joined:{sender.user_id}:{stamp}" if stamp else None,
        raw=dict(body),
    )


NORMALISERS: dict[str, Normaliser] = {
    "command": slash_command,
    "block_actions": block_actions,
    "event:message": message_event,
    "event:app_mention": app_mention,
    "event:member_joined_channel": member_joined_channel,
}


def normalise(body: Payload, sender: Sender) -> InboundEvent | None:
    """The neutral event for a payload, or None when Indaba has nothing to do with it."""
    handler = NORMALISERS.get(payload_kind(body))
    return handler(body, sender) if handler is not None else None
