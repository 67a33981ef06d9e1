"""Sending through the PTB ``Bot``: messages, keyboards, polls, edits, under Telegram's limits."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram.normalise import PLATFORM, message_key, split_key
from adapters.telegram.render import (
    MAX_BUTTON_TEXT,
    MAX_POLL_OPTION,
    MAX_POLL_QUESTION,
    MAX_TEXT,
    deep_link,
    mention_html,
    plain,
    render_html,
)
from bot.adapter import PermanentError, RetryAfter, TransientError, Unreachable
from bot.messages import ConversationKind, MessageRef, OutgoingMessage
from bot.pacing import KeyedBuckets, TokenBucket

log = logging.getLogger(__name__)

MAX_POLL_OPTIONS = 12
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's flood limits (FAQ; PTB ``constants.FloodLimit``)."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0


def retry_seconds(error: TelegramRetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB warns that ``retry_after`` becomes a timedelta; both shapes are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class TelegramSender:
    """Turns one :class:`OutgoingMessage` into Bot API calls, paced and with errors mapped."""

    def __init__(self, bot: Bot, limits: Limits | None = None) -> None:
        self.bot = bot
        self.limits = limits or Limits()
        # Bursts of one: evenly spaced sends never trip a sliding-window counter.
        self._overall = TokenBucket(self.limits.per_second, burst=1)
        self._chats = KeyedBuckets(self.limits.per_chat_per_second, burst=1)
        self._groups = KeyedBuckets(self.limits.per_group_per_minute, per=60.0, burst=1)

    @property
    def username(self) -> str:
        return self.bot.username

    # -- pacing and errors ----------------------------------------------------------------

    async def _call(self, chat_id: str, group: bool, call: Callable[[], Awaitable[T]]) -> T:
        if group:
            await self._groups.acquire(chat_id)
        await self._chats.acquire(chat_id)
        await self._overall.acquire()
        try:
            return await call()
        except TelegramRetryAfter as error:
            seconds = retry_seconds(error)
            # Everyone waits: Telegram's flood control counts the whole bot.
            self._overall.penalise(seconds)
            self._chats.bucket(chat_id).penalise(seconds)
            raise RetryAfter(seconds, f"telegram flood control: retry after {seconds}s") from None
        except Forbidden as error:
            raise Unreachable(f"telegram: {error.message}") from None
        except BadRequest as error:
            raise PermanentError(f"telegram: {error.message}") from None
        except (TimedOut, NetworkError) as error:
            raise TransientError(f"telegram: {error.message}") from None
        except TelegramError as error:
            raise TransientError(f"telegram: {error.message}") from None

    # -- sending --------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        chat_id = message.address.conversation_id
        group = message.address.kind is ConversationKind.GROUP
        if message.edit_of:
            return await self._edit(message, chat_id, group)
        if message.poll and message.choices and self._poll_fits(message):
            return await self._poll(message, chat_id, group)
        chunks = self._chunks(message)
        reply = self._reply_parameters(message)
        last: Message | None = None
        for index, chunk in enumerate(chunks):
            final = index == len(chunks) - 1
            markup_ = self._reply_markup(message) if final else None
            reply_parameters = reply if index == 0 else None
            last = await self._call(
                chat_id,
                group,
                partial(
                    self.bot.send_message,
                    chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup_,
                    reply_parameters=reply_parameters,
                ),
            )
        assert last is not None
        return MessageRef(PLATFORM, str(last.chat.id), message_key(last.chat.id, last.message_id))

    def _chunks(self, message: OutgoingMessage) -> list[str]:
        head = mention_html(message.mention) + " " if message.mention else ""
        tail = ""
        if message.invite_to_dm and self.username:
            link = deep_link(self.username)
            tail = f'\n\n<a href="{link}">{link}</a>'
        chunks = render_html(message.text, MAX_TEXT - len(head) - len(tail))
        chunks[0] = head + chunks[0]
        chunks[-1] = chunks[-1] + tail
        return chunks

    def _reply_parameters(self, message: OutgoingMessage) -> ReplyParameters | None:
        if not message.reply_to:
            return None
        try:
            _, message_id = split_key(message.reply_to)
        except ValueError:
            return None
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

    @staticmethod
    def _callback_data(choice_id: str) -> str:
        if len(choice_id.encode()) > MAX_CALLBACK_DATA:
            raise PermanentError(f"telegram: choice id longer than {MAX_CALLBACK_DATA} bytes")
        return choice_id

    def _reply_markup(self, message: OutgoingMessage) -> InlineKeyboardMarkup | None:
        if not message.choices or len(message.choices) > MAX_BUTTONS:
            return None
        rows = [
            [
                InlineKeyboardButton(
                    plain(choice.label, MAX_BUTTON_TEXT),
                    callback_data=self._callback_data(choice.id),
                )
            ]
            for choice in message.choices
        ]
        return InlineKeyboardMarkup(rows)

    @staticmethod
    def _poll_fits(message: OutgoingMessage) -> bool:
        return 2 <= len(message.choices) <= MAX_POLL_OPTIONS

    async def _poll(self, message: OutgoingMessage, chat_id: str, group: bool) -> MessageRef:
        question = plain(message.text, MAX_POLL_QUESTION)
        if len(question) != len(plain(message.text, 100_000)):
            # The whole ballot text does not fit a poll question: send it first.
            for chunk in self._chunks(message):
                await self._call(
                    chat_id,
                    group,
                    partial(self.bot.send_message, chat_id, chunk, parse_mode=ParseMode.HTML),
                )
            question = plain(message.text.split("\n", 1)[0], MAX_POLL_QUESTION) or "?"
        options = [plain(choice.label, MAX_POLL_OPTION) for choice in message.choices]
        sent = await self._call(
            chat_id,
            group,
            lambda: self.bot.send_poll(
                chat_id,
                question,
                options,
                is_anonymous=False,
                allows_multiple_answers=message.multi_select,
            ),
        )
        return MessageRef(
            PLATFORM,
            str(sent.chat.id),
            message_key(sent.chat.id, sent.message_id),
            poll_id=sent.poll.id if sent.poll else None,
        )

    async def _edit(self, message: OutgoingMessage, chat_id: str, group: bool) -> MessageRef:
        assert message.edit_of is not None
        try:
            edit_chat, message_id = split_key(message.edit_of)
        except ValueError:
            raise PermanentError(f"telegram: cannot edit {message.edit_of!r}") from None
        chat = edit_chat or chat_id
        if message.close_poll:
            await self._call(chat, group, lambda: self.bot.stop_poll(chat, message_id))
            return MessageRef(PLATFORM, chat, message.edit_of)
        text = self._chunks(message)[0]
        try:
            await self._call(
                chat,
                group,
                lambda: self.bot.edit_message_text(
                    text,
                    chat_id=chat,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=self._reply_markup(message),
                ),
            )
        except PermanentError as error:
            # Telegram refuses an edit that changes nothing; the text is already right.
            if "not modified" not in str(error):
                raise
        return MessageRef(PLATFORM, chat, message.edit_of)
