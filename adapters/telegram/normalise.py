"""Telegram updates → Indaba's neutral events: pure functions, one per update type.

Message ids are built so that a re-delivered update yields the same id and is
deduplicated by the engine: ``{chat_id}:{message_id}`` for messages (unique across
chats, and what a reply or an edit names) and ``u{update_id}`` for other updates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram import CallbackQuery, Chat, ChatMemberUpdated, Message, PollAnswer, Update, User

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
    parse_command,
)

PLATFORM = "telegram"

# What else a member may send instead of text, named for the "text only" reply.
_MEDIA = (
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "contact",
    "poll",
)
_PRESENT = ("member", "administrator", "creator", "restricted")


def message_key(chat_id: int | str, message_id: int | str) -> str:
    """The neutral id of a Telegram message: unique across chats."""
    return f"{chat_id}:{message_id}"


def split_key(key: str) -> tuple[str, int]:
    """``"{chat_id}:{message_id}"`` back into its parts."""
    chat, _, message = key.rpartition(":")
    return chat, int(message)


def sender(user: User) -> Sender:
    language = (user.language_code or "").split("-", 1)[0].lower() or None
    return Sender(PLATFORM, str(user.id), user.full_name or user.username or str(user.id), language)


def conversation(chat: Chat) -> Conversation:
    if chat.type == Chat.PRIVATE:
        return Conversation(PLATFORM, str(chat.id), ConversationKind.DM, chat.full_name)
    return Conversation(PLATFORM, str(chat.id), ConversationKind.GROUP, chat.title)


def _dm(user: User) -> Conversation:
    return Conversation(PLATFORM, str(user.id), ConversationKind.DM, user.full_name)


def _addressed_elsewhere(text: str, bot_username: str) -> bool:
    """``/help@otherbot`` in a group is for another bot."""
    head = text.strip().split(maxsplit=1)[0]
    _, at, name = head.partition("@")
    return bool(at) and bool(bot_username) and name.lower() != bot_username.lower()


def _unsupported(message: Message) -> str | None:
    for kind in _MEDIA:
        if getattr(message, kind, None):
            return kind
    return None


def _message(update: Update, message: Message, bot_username: str) -> list[InboundEvent]:
    conv = conversation(message.chat)
    if message.new_chat_members:
        return [
            MemberJoined(
                conv,
                sender(user),
                f"{message_key(message.chat.id, message.message_id)}:{user.id}",
                raw=update,
            )
            for user in message.new_chat_members
            if not user.is_bot
        ]
    user = message.from_user
    if user is None or user.is_bot:
        return []
    key = message_key(message.chat.id, message.message_id)
    reply_to = (
        message_key(message.chat.id, message.reply_to_message.message_id)
        if message.reply_to_message is not None
        else None
    )
    text = message.text or message.caption or ""
    parsed = parse_command(message.text or "")
    if parsed is not None:
        if _addressed_elsewhere(text, bot_username):
            return []
        return [
            CommandInvoked(
                conv,
                sender(user),
                key,
                raw=update,
                command=parsed[0],
                args=parsed[1],
                reply_to_id=reply_to,
            )
        ]
    unsupported = None if message.text is not None else _unsupported(message)
    if message.text is None and unsupported is None:
        return []  # a service message (pinned, title changed, member left...)
    sent_at: datetime | None = message.date
    return [
        MessageReceived(
            conv,
            sender(user),
            key,
            raw=update,
            text=text,
            reply_to_id=reply_to,
            thread_id=None,
            sent_at=sent_at,
            unsupported=unsupported,
        )
    ]


def on_message(update: Update, bot_username: str) -> list[InboundEvent]:
    assert update.message is not None
    return _message(update, update.message, bot_username)


def on_edited_message(update: Update, bot_username: str) -> list[InboundEvent]:
    message = update.edited_message
    assert message is not None
    if message.from_user is None or message.text is None:
        return []
    return [
        MessageEdited(
            conversation(message.chat),
            sender(message.from_user),
            message_key(message.chat.id, message.message_id),
            raw=update,
            text=message.text,
        )
    ]


def on_callback_query(update: Update, bot_username: str) -> list[InboundEvent]:
    query: CallbackQuery | None = update.callback_query
    assert query is not None
    if query.message is None or not query.data:
        return []
    chat = query.message.chat
    return [
        ChoiceSelected(
            conversation(chat),
            sender(query.from_user),
            f"u{update.update_id}",
            raw=update,
            choice_message_id=message_key(chat.id, query.message.message_id),
            choice_ids=(query.data,),
            toggle=True,
        )
    ]


def on_poll_answer(update: Update, bot_username: str) -> list[InboundEvent]:
    answer: PollAnswer | None = update.poll_answer
    assert answer is not None
    if answer.user is None:  # answered on behalf of a chat: not a member's vote
        return []
    return [
        ChoiceSelected(
            _dm(answer.user),
            sender(answer.user),
            f"u{update.update_id}",
            raw=update,
            choice_ids=tuple(str(option) for option in answer.option_ids),
            toggle=False,
            poll_id=answer.poll_id,
        )
    ]


def on_chat_member(update: Update, bot_username: str) -> list[InboundEvent]:
    changed: ChatMemberUpdated | None = update.chat_member
    assert changed is not None
    user = changed.new_chat_member.user
    was_in = changed.old_chat_member.status in _PRESENT
    is_in = changed.new_chat_member.status in _PRESENT
    if user.is_bot or was_in or not is_in:
        return []
    return [
        MemberJoined(conversation(changed.chat), sender(user), f"u{update.update_id}", raw=update)
    ]


def _ignored(update: Update, bot_username: str) -> list[InboundEvent]:
    return []


Normaliser = Callable[[Update, str], list[InboundEvent]]

# Update field → normaliser; the first field present in an update decides.
DISPATCH: dict[str, Normaliser] = {
    "message": on_message,
    "edited_message": on_edited_message,
    "callback_query": on_callback_query,
    "poll_answer": on_poll_answer,
    "chat_member": on_chat_member,
    # The bot's own membership changes; /setup links a group, not its arrival.
    "my_chat_member": _ignored,
}

ALLOWED_UPDATES = [name for name in DISPATCH]


def normalise(update: Update, bot_username: str = "") -> list[InboundEvent]:
    """The neutral events in one update; an unknown update type gives none."""
    for field_name, handler in DISPATCH.items():
        if getattr(update, field_name, None) is not None:
            return handler(update, bot_username)
    return []
