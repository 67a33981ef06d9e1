"""What no database can store never reaches one: a lone surrogate (JSON's "\\ud800")
becomes U+FFFD and NUL characters are dropped before an event is keyed or stored, so a
member's answer holding them is kept, not acknowledged and then lost; an id no
platform sends is refused at the edge with a 400."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from bot.engine.engine import event_key
from bot.messages import (
    ID_LENGTH,
    ChoiceSelected,
    Conversation,
    ConversationKind,
    EventRejected,
    MessageEdited,
    MessageReceived,
    Sender,
    storable,
)
from storage.models import Reply
from tests.harness import Harness, to

LONE = "\ud800"


def dm(user: str = "u1", name: str = "Name", platform: str = "memory") -> dict[str, Any]:
    """Where and from whom an event in ``user``'s private chat comes."""
    return {
        "conversation": Conversation(platform, user, ConversationKind.DM),
        "sender": Sender(platform, user, name),
    }


def said(
    text: str, user: str = "u1", message_id: str = "m1", name: str = "Name"
) -> MessageReceived:
    return MessageReceived(**dm(user, name), message_id=message_id, text=text)


def test_text_is_made_storable_and_everything_else_kept() -> None:
    event = storable(said(f"We mapped {LONE}40 wells\x00 🌍", name=f"Name{LONE}\x00"))
    assert event.text == "We mapped \ufffd40 wells 🌍"
    assert event.sender.display_name == "Name\ufffd"
    assert event.message_id == "m1" and event.conversation.id == "u1"
    assert event.conversation.kind is ConversationKind.DM
    plain = said("nothing to change")
    # Nothing to clean: the event itself, not a copy (acknowledging a webhook pays for
    # every copy).
    assert storable(plain) is plain


def test_texts_inside_tuples_are_made_storable() -> None:
    press = ChoiceSelected(
        **dm(), message_id="m1", choice_message_id="c1", choice_ids=("a", f"b{LONE}\x00")
    )
    assert storable(press).choice_ids == ("a", "b\ufffd")
    clean = dataclasses.replace(press, choice_ids=("a", "b"))
    assert storable(clean) is clean


def test_an_edit_with_a_lone_surrogate_can_be_keyed() -> None:
    edit = MessageEdited(**dm("D1", "A", platform="slack"), message_id="1.2", text=LONE)
    with pytest.raises(UnicodeEncodeError):
        event_key(edit)
    assert event_key(storable(edit)) is not None


def test_an_id_no_platform_sends_is_rejected() -> None:
    with pytest.raises(EventRejected):
        storable(said("hi", user="u" * (ID_LENGTH + 1)))
    with pytest.raises(EventRejected):
        storable(said("hi", message_id="m" * (ID_LENGTH + 1)))
    assert storable(said("hi", user="u" * ID_LENGTH)).conversation.id == "u" * ID_LENGTH


async def test_an_answer_with_a_lone_surrogate_and_nul_is_kept(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    sent = await h.advance(days=11, hours=3)
    assert any("Question 1 of 3" in text for text in to(sent, "amina"))
    told = to(await h.say("amina", f"Our portal{LONE} went live\x00 last week"), "amina")
    assert any("Saved as your answer to question 1 of 3" in text for text in told)
    async with h.indaba.sessions() as session:
        kept = list((await session.scalars(select(Reply.text))).all())
    assert kept == ["Our portal\ufffd went live last week"]
