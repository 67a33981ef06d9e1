"""The normaliser against recorded-shape payloads in tests/fixtures/slack/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.slack.normalise import actor, normalise
from adapters.slack.render import escape, render
from bot.messages import (
    Address,
    ChoiceSelected,
    CommandInvoked,
    ConversationKind,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    OutgoingMessage,
    Sender,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


def event_of(name: str) -> Any:
    body = load(name)
    user = actor(body)
    if not user:
        return None
    events = normalise(body, Sender("slack", user, "Someone")).events
    return events[0] if events else None


def test_slash_command() -> None:
    event = event_of("slash_command")
    assert isinstance(event, CommandInvoked)
    assert (event.command, event.args) == ("agenda", "add Open data & budgets")
    assert event.conversation.kind is ConversationKind.GROUP and event.conversation.id == "C0COP"
    assert event.message_id == "13345224609.738474920.8088930838d88f008e0"


def test_button_press_in_a_dm() -> None:
    event = event_of("block_actions")
    assert isinstance(event, ChoiceSelected)
    assert event.choice_message_id == "1795383892.000007"
    assert event.choice_ids == ("item-1",) and event.toggle
    assert event.conversation.kind is ConversationKind.DM and event.conversation.id == "U0AMINA"


def test_answer_in_a_question_thread() -> None:
    event = event_of("message_im_thread")
    assert isinstance(event, MessageReceived)
    assert event.text == "Our portal <works>"
    assert event.message_id == "1795383900.000200"
    assert event.reply_to_id == event.thread_id == "1795383892.000007"
    assert event.conversation.id == "U0AMINA"


def test_edit() -> None:
    event = event_of("message_changed")
    assert isinstance(event, MessageEdited)
    assert (event.message_id, event.text) == ("1795383900.000200", "Better answer")


def test_channel_message_and_mention_are_the_same_event() -> None:
    message, mention = event_of("message_channel"), event_of("app_mention")
    assert isinstance(message, MessageReceived) and isinstance(mention, MessageReceived)
    assert message.conversation.kind is ConversationKind.GROUP
    assert mention.text == "what is next?"
    assert (mention.conversation, mention.message_id) == (message.conversation, message.message_id)


def test_member_joined() -> None:
    event = event_of("member_joined_channel")
    assert isinstance(event, MemberJoined)
    assert event.sender.user_id == "U0THANDI" and event.conversation.id == "C0COP"


def test_bot_messages_and_unknown_events_are_ignored() -> None:
    assert event_of("bot_message") is None
    assert event_of("reaction_added") is None


def test_escape_and_render_limits() -> None:
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"
    message = OutgoingMessage(Address("slack", ConversationKind.GROUP, "C"), "x" * 200_000)
    chunks = render(message)
    assert all(len(c.blocks) <= 50 for c in chunks)
    assert all(len(b["text"]["text"]) <= 3000 for c in chunks for b in c.blocks)
    assert sum(len(b["text"]["text"]) for c in chunks for b in c.blocks) == 200_000
