"""Telegram updates → Indaba's neutral events: pure functions, one per update type.

Message ids are built so that a re-delivered update yields the same id and is
deduplicated by the engine: ``{chat_id}:{message_id}`` for messages (unique across
chats, and what a reply or an edit names) and ``u{update_id}`` for other updates.

A message in a forum topic comes from the conversation ``{chat_id}/{thread_id}``
(:data:`bot.messages.PART_SEPARATOR`), so answers go back to that topic; the topic
belongs to the chat's space. ``PLATFORM`` lives here, the root of the adapter's
modules, so that every other module can import it without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from telegram import (
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    MaybeInaccessibleMessage,
    Message,
    PollAnswer,
    Update,
    User,
)

from bot.messages import (
    PART_SEPARATOR,
    ChoiceSelected,
    CommandInvoked,
    Conversation,
    ConversationChanged,
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


# A button press's neutral id names its callback query, so that the engine's answer to
# the press (a message replying to it) can be shown as the press's toast.
PRESS_PREFIX = "press:"


def press_key(query_id: str) -> str:
    return f"{PRESS_PREFIX}{query_id}"


def pressed_query(key: str | None) -> str | None:
    """The callback query a ``reply_to`` names, when it names a press."""
    if key and key.startswith(PRESS_PREFIX) and len(key) > len(PRESS_PREFIX):
        return key[len(PRESS_PREFIX) :]
    return None


def topic_conversation_id(chat_id: int | str, thread_id: int | None) -> str:
    """The conversation id of a forum topic (the chat's own id outside topics)."""
    return f"{chat_id}{PART_SEPARATOR}{thread_id}" if thread_id else str(chat_id)


def split_conversation(conversation_id: str) -> tuple[str, int | None]:
    """A conversation id back into the chat id and the forum topic (None outside topics)."""
    chat, _, thread = conversation_id.partition(PART_SEPARATOR)
    return chat, int(thread) if thread.isdigit() else None


def sender(user: User) -> Sender:
    language = (user.language_code or "").split("-", 1)[0].lower() or None
    return Sender(PLATFORM, str(user.id), user.full_name or user.username or str(user.id), language)


def conversation(
    chat: Chat, thread_id: int | None = None, *, reachable: bool = True
) -> Conversation:
    if chat.type == Chat.PRIVATE:
        return Conversation(
            PLATFORM, str(chat.id), ConversationKind.DM, chat.full_name, reachable=reachable
        )
    return Conversation(
        PLATFORM,
        topic_conversation_id(chat.id, thread_id),
        ConversationKind.GROUP,
        chat.title,
        reachable=reachable,
    )


def _topic(message: MaybeInaccessibleMessage) -> int | None:
    """The forum topic a message is in (replies outside forums carry a thread id too)."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


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


def _migrated(update: Update, message: Message) -> list[InboundEvent]:
    """A group upgraded to a supergroup: the old chat says where it went, the new one
    where it came from. Either moves the space; the second changes nothing more."""
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        assert message.migrate_from_chat_id is not None
        old, new = message.migrate_from_chat_id, message.chat.id
    user = message.from_user
    who = sender(user) if user is not None else Sender(PLATFORM, str(old), "")
    moved = Conversation(
        PLATFORM, str(new), ConversationKind.GROUP, message.chat.title, previous_id=str(old)
    )
    return [ConversationChanged(moved, who, f"migrate:{old}:{new}", raw=update)]


def _message(update: Update, message: Message, bot_username: str) -> list[InboundEvent]:
    if message.migrate_to_chat_id or message.migrate_from_chat_id:
        return _migrated(update, message)
    conv = conversation(message.chat, _topic(message))
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
    replied = message.reply_to_message
    # In a forum, a message that starts a topic's thread "replies" to the topic's creation.
    reply_to = (
        message_key(message.chat.id, replied.message_id)
        if replied is not None and replied.forum_topic_created is None
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
        return []  # a service message (pinned, title changed, topic created, member left...)
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
            conversation(message.chat, _topic(message)),
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
            conversation(chat, _topic(query.message)),
            sender(query.from_user),
            press_key(query.id),
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
    # A poll answer names no chat; the voter's private chat stands for it, though voting
    # in a group does not start the bot.
    return [
        ChoiceSelected(
            replace(_dm(answer.user), inferred=True),
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
    if changed.new_chat_member is None or changed.old_chat_member is None:
        raise UnknownShape("chat_member without old and new members")
    user = changed.new_chat_member.user
    was_in = changed.old_chat_member.status in _PRESENT
    is_in = changed.new_chat_member.status in _PRESENT
    if user.is_bot or was_in or not is_in:
        return []
    return [
        MemberJoined(conversation(changed.chat), sender(user), f"u{update.update_id}", raw=update)
    ]


def on_my_chat_member(update: Update, bot_username: str) -> list[InboundEvent]:
    """The bot's own membership: removed from a group or blocked by a member (the
    space or the member is unreachable at once), added back or unblocked (reachable)."""
    changed: ChatMemberUpdated | None = update.my_chat_member
    assert changed is not None
    if changed.new_chat_member is None or changed.old_chat_member is None:
        raise UnknownShape("my_chat_member without old and new members")
    was_in = changed.old_chat_member.status in _PRESENT
    is_in = changed.new_chat_member.status in _PRESENT
    if was_in == is_in:
        return []  # promoted, restricted...: the bot can still write there
    return [
        ConversationChanged(
            conversation(changed.chat, reachable=is_in),
            sender(changed.from_user),
            f"u{update.update_id}",
            raw=update,
        )
    ]


Normaliser = Callable[[Update, str], list[InboundEvent]]

# Update field → normaliser; the first field present in an update decides.
DISPATCH: dict[str, Normaliser] = {
    "message": on_message,
    "edited_message": on_edited_message,
    "callback_query": on_callback_query,
    "poll_answer": on_poll_answer,
    "chat_member": on_chat_member,
    "my_chat_member": on_my_chat_member,
}

ALLOWED_UPDATES = list(DISPATCH)


class UnknownShape(ValueError):
    """An update of a known type whose fields are not what Telegram sends."""


def normalise(update: Update, bot_username: str = "") -> list[InboundEvent]:
    """The neutral events in one update; an unknown update type gives none, a known
    type of the wrong shape raises :class:`UnknownShape` naming it."""
    for field_name, handler in DISPATCH.items():
        if getattr(update, field_name, None) is not None:
            try:
                events = handler(update, bot_username)
            except (AttributeError, TypeError, ValueError, KeyError, AssertionError) as error:
                raise UnknownShape(f"{field_name} ({type(error).__name__})") from None
            for event in events:
                _check_texts(field_name, event)
            try:
                return [storable(event) for event in events]
            except EventRejected as error:
                raise UnknownShape(f"{field_name}: {error}") from None
    return []


def _check_texts(field_name: str, event: InboundEvent) -> None:
    """PTB does not check types: a number or an object where Telegram sends text is
    not an update Telegram sent."""
    texts = [getattr(event, name) for name in ("text", "command", "args") if hasattr(event, name)]
    texts += list(getattr(event, "choice_ids", ()))
    texts += [event.sender.display_name, event.conversation.title or ""]
    if not all(isinstance(text, str) for text in texts):
        raise UnknownShape(f"{field_name} with a text that is not a string")
