"""The normaliser against recorded-shape updates in tests/fixtures/telegram/."""

from __future__ import annotations

import json
from pathlib import Path

from telegram import Bot, Update

from adapters.telegram.normalise import normalise
from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    ConversationChanged,
    ConversationKind,
    InboundEvent,
    MemberJoined,
    MessageEdited,
    MessageReceived,
)
from tests.fakes.telegram_api import BOT_USERNAME, TOKEN

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"


def events(name: str) -> list[InboundEvent]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return normalise(Update.de_json(data, Bot(TOKEN)), BOT_USERNAME)


def test_private_reply_is_a_dm_message_naming_the_question() -> None:
    [event] = events("private_text_reply")
    assert isinstance(event, MessageReceived)
    assert event.conversation.kind is ConversationKind.DM
    assert event.conversation.id == "101"
    assert event.message_id == "101:17"
    assert event.reply_to_id == "101:12"
    assert event.text == "Our budget portal went live"
    assert event.sender.display_name == "Amina Bello"
    assert event.sender.language == "fr"


def test_group_command_loses_the_bot_name() -> None:
    [event] = events("group_command")
    assert isinstance(event, CommandInvoked)
    assert event.conversation.kind is ConversationKind.GROUP
    assert event.conversation.title == "Lagos Civic Tech"
    assert (event.command, event.args) == ("setup", "ABCDE-FGHJK")
    assert event.message_id == "-1001234:44"


def test_command_for_another_bot_is_ignored() -> None:
    assert events("group_command_other_bot") == []


def test_edit_names_the_original_message() -> None:
    [event] = events("edited_message")
    assert isinstance(event, MessageEdited)
    assert event.message_id == "101:17"
    assert event.text == "Our budget portal went live in May"


def test_button_press_toggles_a_choice_on_its_message() -> None:
    [event] = events("callback_query")
    assert isinstance(event, ChoiceSelected)
    assert event.toggle is True
    assert event.choice_message_id == "-1001234:60"
    assert event.choice_ids == ("item-7",)
    # The press names its callback query, so the answer to it can be its toast.
    assert event.message_id == "press:4382bfdwdsb323b2d9"


def test_poll_answer_gives_option_positions_and_retraction() -> None:
    [vote] = events("poll_answer")
    assert isinstance(vote, ChoiceSelected)
    assert (vote.poll_id, vote.choice_ids, vote.toggle) == ("5432101", ("0", "2"), False)
    assert vote.conversation.kind is ConversationKind.DM
    assert vote.sender.user_id == "102"
    [retracted] = events("poll_answer_retracted")
    assert isinstance(retracted, ChoiceSelected)
    assert retracted.choice_ids == ()


def test_members_joining() -> None:
    [joined] = events("chat_member_joined")
    assert isinstance(joined, MemberJoined)
    assert joined.sender.user_id == "103"
    several = events("new_chat_members")
    assert [e.sender.user_id for e in several] == ["104", "105"]  # not the bot
    assert all(isinstance(e, MemberJoined) for e in several)
    assert len({e.message_id for e in several}) == 2


def test_the_bot_added_to_a_group_makes_it_reachable() -> None:
    [added] = events("my_chat_member")
    assert isinstance(added, ConversationChanged)
    assert added.conversation.kind is ConversationKind.GROUP
    assert added.conversation.id == "-1001234"
    assert added.conversation.reachable is True
    assert added.sender.user_id == "100"


def test_ignored_and_unsupported() -> None:
    assert events("unknown_type") == []
    [photo] = events("private_photo")
    assert isinstance(photo, MessageReceived)
    assert photo.unsupported == "photo"


def test_a_redelivered_update_gives_the_same_ids() -> None:
    for name in ("private_text_reply", "callback_query", "poll_answer", "chat_member_joined"):
        assert [e.message_id for e in events(name)] == [e.message_id for e in events(name)]
