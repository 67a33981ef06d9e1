"""Slack payloads → Indaba's neutral events: pure functions, one per payload type.

The adapter looks the acting user up (``users.info``) and passes the resulting
:class:`~bot.messages.Sender` in; everything else comes from the payload. The Slack
``ts`` is the message id, so a retried event (``X-Slack-Retry-Num``) is the same
event to the engine and is handled once; slash commands carry no ``ts`` and use their
``trigger_id``, button presses their user and ``action_ts``.

Slack's payloads are trusted for their signature, not their shape: every field is
checked for the type Slack documents, and anything else raises :class:`Malformed`
(the webhook answers 400). A payload of a kind Indaba does not handle normalises to
nothing (the webhook answers 200, so Slack stops retrying).

The app declares one slash command (``/indaba``); ``/indaba agenda add X`` becomes the
neutral ``/agenda add X``, and a workspace that added ``/agenda`` itself gets the same.
``/indaba agenda add`` and ``/indaba meeting add`` with nothing after them open a form
(a modal) instead; its submission is checked here and becomes the same command.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bot.messages import (
    ID_LENGTH,
    ChoiceSelected,
    CommandInvoked,
    Conversation,
    ConversationKind,
    EventRejected,
    InboundEvent,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    Sender,
    parse_command,
    storable,
)

Payload = Mapping[str, Any]

# Plain messages and the subtypes that are still a member writing something new.
_NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[:,]?\s*")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Modal forms: their callback ids and the limits checked before the engine sees them.
AGENDA_FORM = "indaba_agenda_add"
MEETING_FORM = "indaba_meeting_add"
ANSWER_FORM = "indaba_answer"
TITLE_LIMIT = 200
DETAIL_LIMIT = 1000
ANSWER_LIMIT = 4000
# The command shown in the Home tab's buttons that needs a text first (a modal).
FORMS = {("agenda", "add"): AGENDA_FORM, ("meeting", "add"): MEETING_FORM}
# Inline errors shown under a modal's fields (Slack shows them in the form): each is a
# text of prompts/ and its values, rendered by the adapter in the member's language.
FIELD_ERRORS: dict[str, tuple[str, dict[str, int]]] = {
    "required": ("slack.form.error.required", {}),
    "title_long": ("slack.form.error.too_long", {"limit": TITLE_LIMIT}),
    "detail_long": ("slack.form.error.too_long", {"limit": DETAIL_LIMIT}),
    "answer_long": ("slack.form.error.too_long", {"limit": ANSWER_LIMIT}),
    "date": ("slack.form.error.date", {}),
    "time": ("slack.form.error.time", {}),
}


class Malformed(ValueError):
    """A signed payload that is not the shape Slack documents; the reason is one line."""


@dataclass(frozen=True, slots=True)
class ReplyUrl:
    """A payload's ``response_url``: where the answer to it can be posted (any channel)."""

    channel_id: str
    user_id: str
    url: str


@dataclass(frozen=True, slots=True)
class FormRequest:
    """Open the modal ``form`` (within three seconds of ``trigger_id``)."""

    form: str
    trigger_id: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Normalised:
    """What a payload asks of Indaba: neutral events for the engine, a modal's inline
    errors (field → a name of :data:`FIELD_ERRORS`), a form to open, and the payload's
    ``response_url``."""

    events: tuple[InboundEvent, ...] = ()
    field_errors: dict[str, str] | None = None
    form: FormRequest | None = None
    reply_url: ReplyUrl | None = None


NOTHING = Normalised()

Normaliser = Callable[[Payload, Sender, str], Normalised]


# -- reading fields, strictly ---------------------------------------------------------------


def obj(value: Any, what: str) -> Mapping[str, Any]:
    """An object field; absent is empty, anything else is malformed."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Malformed(f"{what} is not an object")
    return value


def text(value: Any, what: str) -> str:
    """A string field; absent is empty, anything else is malformed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    return value


def items(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a list")
    return value


def unescape(value: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` as entities; the engine wants what was typed."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _is_dm(channel_id: str, channel_type: str | None = None) -> bool:
    if channel_type:
        return channel_type == "im"
    return channel_id.startswith("D")


def conversation(
    channel_id: str, sender: Sender, *, dm: bool, title: str | None = None
) -> Conversation:
    """A DM is named by the member's user id (the adapter opens the channel itself)."""
    if dm:
        return Conversation(sender.platform, sender.user_id, ConversationKind.DM)
    return Conversation(sender.platform, channel_id, ConversationKind.GROUP, title or None)


def _sent_at(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _reply_url(body: Payload, channel_id: str, user_id: str) -> ReplyUrl | None:
    url = text(body.get("response_url"), "response_url")
    if not url.startswith(("https://", "http://")) or not channel_id:
        return None
    return ReplyUrl(channel_id, user_id, url)


# -- what a payload is and who did it -------------------------------------------------------


def payload_kind(body: Payload) -> str:
    """``command`` for a slash command, ``event:<type>`` for an event, else its ``type``."""
    if "command" in body and "trigger_id" in body:
        return "command"
    kind = text(body.get("type"), "type")
    if kind == "event_callback":
        event = obj(body.get("event"), "event")
        return f"event:{text(event.get('type'), 'event.type')}"
    return kind


def actor(body: Payload) -> str | None:
    """The user who did what the payload reports (checked before Indaba asks Slack who
    they are: an id no Slack workspace gives is :class:`Malformed`)."""
    found = _actor(body)
    if found is not None and len(found) > ID_LENGTH:
        raise Malformed(f"a user id over {ID_LENGTH} characters")
    return found


def _actor(body: Payload) -> str | None:
    kind = payload_kind(body)
    if kind == "command":
        return text(body.get("user_id"), "user_id") or None
    if kind in ("block_actions", "view_submission"):
        return text(obj(body.get("user"), "user").get("id"), "user.id") or None
    event = obj(body.get("event"), "event")
    if text(event.get("subtype"), "event.subtype") == "message_changed":
        inner = obj(event.get("message"), "event.message")
        return text(inner.get("user"), "event.message.user") or None
    return text(event.get("user"), "event.user") or None


def check(body: Payload) -> str:
    """The payload's kind, once the fields every kind is routed by are of the types
    Slack documents (:class:`Malformed` otherwise); the rest is checked by its
    normaliser."""
    kind = payload_kind(body)
    actor(body)
    text(body.get("command"), "command")
    if kind == "block_actions":
        for index, action in enumerate(items(body.get("actions"), "actions")):
            text(obj(action, f"actions[{index}]").get("action_id"), "action_id")
    if kind == "view_submission":
        text(obj(body.get("view"), "view").get("callback_id"), "view.callback_id")
    return kind


def routed(body: Payload) -> bool:
    """Whether a listener is for this (checked) payload: a kind Indaba reads, and for a
    press or a form what Slack names it by (``action_id``, ``callback_id``)."""
    kind = payload_kind(body)
    if kind == "block_actions":
        actions = items(body.get("actions"), "actions")
        return bool(actions) and "action_id" in obj(actions[0], "actions[0]")
    if kind == "view_submission":
        return "callback_id" in obj(body.get("view"), "view")
    return kind in NORMALISERS


def is_from_a_bot(body: Payload) -> bool:
    """Messages from bots (Indaba's own included) are never answered."""
    event = obj(body.get("event"), "event")
    inner = obj(event.get("message"), "event.message")
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or inner.get("bot_id")
        or inner.get("subtype") == "bot_message"
    )


def command_parts(command: str, args: str, ours: str) -> tuple[str, str]:
    """``/indaba agenda add X`` → ``("agenda", "add X")``; ``/agenda add X`` likewise."""
    name = command.strip().lstrip("/").lower()
    args = args.strip()
    if name != ours:
        return name, args
    parts = args.split(None, 1)
    head = parts[0].lstrip("/").lower() if parts else ""
    return head or "help", parts[1].strip() if len(parts) > 1 else ""


# -- one function per payload type ---------------------------------------------------------


def slash_command(body: Payload, sender: Sender, ours: str) -> Normalised:
    channel_id = text(body.get("channel_id"), "channel_id")
    channel_name = text(body.get("channel_name"), "channel_name")
    dm = channel_name == "directmessage" or _is_dm(channel_id)
    name, args = command_parts(
        text(body.get("command"), "command"), unescape(text(body.get("text"), "text")), ours
    )
    trigger = text(body.get("trigger_id"), "trigger_id")
    reply_url = _reply_url(body, channel_id, sender.user_id)
    form = FORMS.get((name, args.lower()))
    if form is not None and trigger:
        metadata = {"channel": channel_id, "dm": "1" if dm else "", "title": channel_name}
        return Normalised(form=FormRequest(form, trigger, metadata), reply_url=reply_url)
    event = CommandInvoked(
        conversation(channel_id, sender, dm=dm, title=channel_name),
        sender,
        trigger or None,
        raw=dict(body),
        command=name,
        args=args,
    )
    return Normalised(events=(event,), reply_url=reply_url)


def block_actions(body: Payload, sender: Sender, ours: str) -> Normalised:
    actions = items(body.get("actions"), "actions")
    if not actions:
        return NOTHING
    action = obj(actions[0], "actions[0]")
    value = action.get("value")
    if value is None:
        return NOTHING
    value = text(value, "actions[0].value")
    container = obj(body.get("container"), "container")
    stamp = text(action.get("action_ts"), "action_ts") or text(body.get("trigger_id"), "trigger_id")
    # The same press delivered twice is the same event: the engine counts it once.
    press_id = f"press:{sender.user_id}:{stamp}" if stamp else None
    if text(container.get("type"), "container.type") == "view":
        return _home_press(body, sender, value, press_id)
    message = obj(body.get("message"), "message")
    message_ts = text(container.get("message_ts"), "container.message_ts") or text(
        message.get("ts"), "message.ts"
    )
    channel_id = text(obj(body.get("channel"), "channel").get("id"), "channel.id") or text(
        container.get("channel_id"), "container.channel_id"
    )
    if not message_ts:
        return NOTHING
    event = ChoiceSelected(
        conversation(channel_id, sender, dm=_is_dm(channel_id)),
        sender,
        press_id,
        raw=dict(body),
        choice_message_id=message_ts,
        choice_ids=(value,),
        toggle=True,
    )
    return Normalised(events=(event,), reply_url=_reply_url(body, channel_id, sender.user_id))


def _home_press(body: Payload, sender: Sender, value: str, press_id: str | None) -> Normalised:
    """A button on the Home tab runs the command it names (``/harvest``); ``/answer N``
    opens a form for the answer first."""
    parsed = parse_command(value)
    if parsed is None:
        return NOTHING
    name, args = parsed
    trigger = text(body.get("trigger_id"), "trigger_id")
    if name == "answer" and args.isdigit() and trigger:
        return Normalised(form=FormRequest(ANSWER_FORM, trigger, {"number": args, "dm": "1"}))
    if (name, args) in FORMS and trigger:
        return Normalised(form=FormRequest(FORMS[(name, args)], trigger, {"dm": "1"}))
    event = CommandInvoked(
        conversation("", sender, dm=True),
        sender,
        press_id,
        raw=dict(body),
        command=name,
        args=args,
    )
    return Normalised(events=(event,))


def _field(values: Mapping[str, Any], block: str) -> Mapping[str, Any]:
    """The one element's state in the input block ``block``."""
    found = obj(values.get(block), f"view.state.values.{block}")
    for element in found.values():
        return obj(element, f"view.state.values.{block}.*")
    return {}


def view_submission(body: Payload, sender: Sender, ours: str) -> Normalised:
    view = obj(body.get("view"), "view")
    form = text(view.get("callback_id"), "view.callback_id")
    values = obj(obj(view.get("state"), "view.state").get("values"), "view.state.values")
    try:
        metadata = json.loads(text(view.get("private_metadata"), "view.private_metadata") or "{}")
    except (ValueError, RecursionError):
        raise Malformed("view.private_metadata is not JSON") from None
    metadata = obj(metadata, "view.private_metadata")
    channel_id = text(metadata.get("channel"), "metadata.channel")
    dm = bool(metadata.get("dm")) or not channel_id
    where = conversation(
        channel_id, sender, dm=dm, title=text(metadata.get("title"), "metadata.title")
    )
    errors: dict[str, str] = {}
    if form == AGENDA_FORM:
        title = text(_field(values, "title").get("value"), "title").strip()
        detail = text(_field(values, "detail").get("value"), "detail").strip()
        if not title:
            errors["title"] = "required"
        elif len(title) > TITLE_LIMIT:
            errors["title"] = "title_long"
        if len(detail) > DETAIL_LIMIT:
            errors["detail"] = "detail_long"
        command, args = "agenda", "add " + title + (f"\n{detail}" if detail else "")
    elif form == MEETING_FORM:
        day = text(_field(values, "date").get("selected_date"), "date")
        at = text(_field(values, "time").get("selected_time"), "time")
        kind = text(obj(_field(values, "kind").get("selected_option"), "kind").get("value"), "kind")
        title = text(_field(values, "title").get("value"), "title").strip()
        try:
            date.fromisoformat(day)
        except ValueError:
            errors["date"] = "date"
        if not _TIME.match(at):
            errors["time"] = "time"
        if not title:
            errors["title"] = "required"
        elif len(title) > TITLE_LIMIT:
            errors["title"] = "title_long"
        workshop = " workshop" if kind == "workshop" else ""
        command, args = "meeting", f"add {day} {at}{workshop} {title}"
    elif form == ANSWER_FORM:
        number = text(metadata.get("number"), "metadata.number")
        answer = text(_field(values, "answer").get("value"), "answer").strip()
        if not answer:
            errors["answer"] = "required"
        elif len(answer) > ANSWER_LIMIT:
            errors["answer"] = "answer_long"
        if not number.isdigit():
            raise Malformed("metadata.number is not a number")
        command, args = "answer", f"{number} {answer}"
    else:
        return NOTHING
    if errors:
        return Normalised(field_errors=errors)
    view_id = text(view.get("id"), "view.id")
    event = CommandInvoked(
        where,
        sender,
        f"view:{view_id}" if view_id else None,
        raw=dict(body),
        command=command,
        args=args,
    )
    return Normalised(events=(event,))


def message_event(body: Payload, sender: Sender, ours: str) -> Normalised:
    event = obj(body.get("event"), "event")
    subtype = text(event.get("subtype"), "event.subtype") or None
    if is_from_a_bot(body):
        return NOTHING
    channel_id = text(event.get("channel"), "event.channel")
    dm = _is_dm(channel_id, text(event.get("channel_type"), "event.channel_type"))
    if subtype == "message_changed":
        inner = obj(event.get("message"), "event.message")
        ts = text(inner.get("ts"), "event.message.ts")
        if not ts:
            return NOTHING
        edited = MessageEdited(
            conversation(channel_id, sender, dm=dm),
            sender,
            ts,
            raw=dict(body),
            text=unescape(text(inner.get("text"), "event.message.text")),
        )
        return Normalised(events=(edited,))
    ts = text(event.get("ts"), "event.ts")
    if subtype not in _NEW_MESSAGE_SUBTYPES or not ts:
        return NOTHING
    said = unescape(text(event.get("text"), "event.text"))
    unsupported = "file" if subtype == "file_share" and not said.strip() else None
    thread_ts = text(event.get("thread_ts"), "event.thread_ts")
    # A reply in a thread answers the message that started it (a question, a ballot).
    thread = thread_ts if thread_ts and thread_ts != ts else None
    received = MessageReceived(
        conversation(channel_id, sender, dm=dm),
        sender,
        ts,
        raw=dict(body),
        text=said,
        reply_to_id=thread,
        thread_id=thread,
        sent_at=_sent_at(ts),
        unsupported=unsupported,
    )
    return Normalised(events=(received,))


def app_mention(body: Payload, sender: Sender, ours: str) -> Normalised:
    event = obj(body.get("event"), "event")
    ts = text(event.get("ts"), "event.ts")
    if is_from_a_bot(body) or not ts:
        return NOTHING
    channel_id = text(event.get("channel"), "event.channel")
    thread_ts = text(event.get("thread_ts"), "event.thread_ts")
    thread = thread_ts if thread_ts and thread_ts != ts else None
    # Same type, conversation and ts as the ``message`` event Slack also sends for it,
    # so the engine handles the pair once.
    received = MessageReceived(
        conversation(channel_id, sender, dm=_is_dm(channel_id)),
        sender,
        ts,
        raw=dict(body),
        text=_LEADING_MENTION.sub("", unescape(text(event.get("text"), "event.text"))),
        reply_to_id=thread,
        thread_id=thread,
        sent_at=_sent_at(ts),
    )
    return Normalised(events=(received,))


def member_joined_channel(body: Payload, sender: Sender, ours: str) -> Normalised:
    event = obj(body.get("event"), "event")
    channel_id = text(event.get("channel"), "event.channel")
    if not channel_id:
        return NOTHING
    stamp = text(event.get("event_ts"), "event.event_ts") or text(body.get("event_id"), "event_id")
    joined = MemberJoined(
        conversation(channel_id, sender, dm=False),
        sender,
        f"joined:{sender.user_id}:{stamp}" if stamp else None,
        raw=dict(body),
    )
    return Normalised(events=(joined,))


def app_home_opened(body: Payload, sender: Sender, ours: str) -> Normalised:
    """The member opened Indaba's Home tab: the engine answers with what it should show."""
    event = obj(body.get("event"), "event")
    if text(event.get("tab"), "event.tab") != "home":
        return NOTHING
    stamp = text(event.get("event_ts"), "event.event_ts")
    opened = CommandInvoked(
        conversation("", sender, dm=True),
        sender,
        f"home:{stamp}" if stamp else None,
        raw=dict(body),
        command="home",
    )
    return Normalised(events=(opened,))


NORMALISERS: dict[str, Normaliser] = {
    "command": slash_command,
    "block_actions": block_actions,
    "view_submission": view_submission,
    "event:message": message_event,
    "event:app_mention": app_mention,
    "event:member_joined_channel": member_joined_channel,
    "event:app_home_opened": app_home_opened,
}


def normalise(body: Payload, sender: Sender, command: str = "indaba") -> Normalised:
    """What ``body`` asks of Indaba (nothing when Indaba does not handle its kind).

    Raises :class:`Malformed` when a field is not of the type Slack documents.
    """
    handler = NORMALISERS.get(payload_kind(body))
    if handler is None:
        return NOTHING
    found = handler(body, sender, command)
    try:
        return dataclasses.replace(found, events=tuple(storable(e) for e in found.events))
    except EventRejected as error:
        raise Malformed(str(error)) from None
