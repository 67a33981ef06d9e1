"""Recorded-shape webhook payloads → neutral events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.whatsapp.normalise import normalise
from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    ConversationKind,
    DeliveryStatus,
    MessageReceived,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "whatsapp"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_text_is_a_dm_message_with_the_profile_name() -> None:
    [event] = normalise(load("text.json"))
    assert isinstance(event, MessageReceived)
    assert event.text == "Our budget portal went live"
    assert event.message_id == "wamid.HBgNMjM0ODAzMDAwMDAwMRUCABIYFjNFQjBDMEE1"
    assert event.conversation.kind is ConversationKind.DM
    assert event.conversation.id == "2348030000001"
    assert event.sender.display_name == "Amina Okafor"
    assert event.sent_at is not None and event.sent_at.year == 2025
    assert event.reply_to_id is None and event.unsupported is None


def test_reply_carries_the_message_replied_to() -> None:
    [event] = normalise(load("text_reply.json"))
    assert isinstance(event, MessageReceived)
    assert event.reply_to_id == "wamid.SENT0001"


def test_text_starting_with_slash_is_a_command() -> None:
    [event] = normalise(load("command.json"))
    assert isinstance(event, CommandInvoked)
    assert (event.command, event.args) == ("join", "LAGOS-7QX")


def test_button_and_list_replies_are_choices_on_the_message_tapped() -> None:
    [button] = normalise(load("button_reply.json"))
    [row] = normalise(load("list_reply.json"))
    assert isinstance(button, ChoiceSelected) and isinstance(row, ChoiceSelected)
    assert (button.choice_message_id, button.choice_ids, button.toggle) == (
        "wamid.SENTBUTTONS",
        ("item-2",),
        True,
    )
    assert (row.choice_message_id, row.choice_ids) == ("wamid.SENTLIST", ("item-7",))


def test_media_is_unsupported_and_a_template_button_is_a_choice_on_the_template() -> None:
    [image] = normalise(load("image.json"))
    [sticker] = normalise(load("sticker.json"))
    [template] = normalise(load("template_button.json"))
    assert isinstance(image, MessageReceived) and image.unsupported == "image"
    assert isinstance(sticker, MessageReceived) and sticker.unsupported == "sticker"
    # The tap answers the template itself (so it is never taken for an answer).
    assert isinstance(template, ChoiceSelected)
    assert template.choice_message_id == "wamid.SENTTEMPLATE"
    assert template.choice_ids == ("Show me",)


def test_statuses_become_delivery_statuses() -> None:
    events = normalise(load("statuses.json"))
    assert all(isinstance(e, DeliveryStatus) for e in events)
    assert [(e.message_id, e.status) for e in events if isinstance(e, DeliveryStatus)] == [
        ("wamid.SENT0001", "sent"),
        ("wamid.SENT0001", "delivered"),
        ("wamid.SENT0001", "read"),
        ("wamid.SENT0002", "failed"),
    ]
    failed = events[-1]
    assert isinstance(failed, DeliveryStatus)
    assert failed.error == "window-closed: 131047 Re-engagement message"
    assert failed.conversation.id == "2348030000002"


def test_other_objects_and_fields_are_ignored() -> None:
    assert normalise({"object": "page", "entry": []}) == []
    payload = load("text.json")
    payload["entry"][0]["changes"][0]["field"] = "account_update"
    assert normalise(payload) == []
