"""The only module that talks to the Bot API (through PTB's ``Bot``): sends under
Telegram's limits, errors mapped to Indaba's delivery errors, and log redaction.

A message Telegram refuses as too long is cut in two and sent on, and once part 1
of a split message is out, the rest is retried in place (flood waits, network
errors) rather than handed back to the outbox, which would post part 1 again. A group
upgraded to a supergroup is followed at once: the message goes to the new chat and
``on_moved`` tells the engine, which moves the space and its queued messages. A file
is uploaded with ``sendDocument`` (its link, which may be signed, stays out of the logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.error import RetryAfter as TelegramRetryAfter
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from adapters.telegram.normalise import PLATFORM, message_key, split_conversation, split_key
from adapters.telegram.render import (
    MAX_BUTTON_TEXT,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_POLL_OPTION,
    MAX_POLL_QUESTION,
    MAX_TEXT,
    callback_data,
    deep_link,
    halve,
    mention_html,
    plain,
    render_html,
    utf16_len,
)
from bot.adapter import (
    Blocked,
    PermanentError,
    RetryAfter,
    StartupError,
    TransientError,
    Unreachable,
    attachment_bytes,
)
from bot.messages import Attachment, ConversationKind, MessageRef, OutgoingMessage
from bot.pacing import KeyedWindows, RateWindow, SharedBudget, sending_all

log = logging.getLogger(__name__)

MAX_POLL_OPTIONS = 12
MAX_BUTTONS = 100
# Once part 1 of a split message is out, how long the rest may wait in place.
MAX_WAIT_IN_PLACE = 120.0
# Seconds to read a file from its link, and to upload it.
UPLOAD_TIMEOUT = 60.0
IN_PLACE_ATTEMPTS = 4

T = TypeVar("T")
# Told when a group moved to a new chat id: (old chat id, new chat id).
OnMoved = Callable[[str, str], Awaitable[None]]


# -- logs ------------------------------------------------------------------------------

# Loggers that write request URLs (which hold the token) or request parameters (which
# hold the webhook secret): httpx at INFO, PTB at DEBUG.
_NOISY = ("httpx", "httpcore", "telegram")


class Redactor(logging.Filter):
    """Replaces the bot token and the webhook secret in log records with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    @contextlib.contextmanager
    def hiding(self, text: str) -> Iterator[None]:
        """Keep ``text`` (a file's signed or ``data:`` URL) out of the logs meanwhile."""
        added = text not in self.secrets
        self.secrets.add(text)
        try:
            yield
        finally:
            if added:
                self.secrets.discard(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: drop the arguments
            message = str(record.msg)
        clean = self.clean(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


_redactor = Redactor()


def redact_logs(secrets: Iterable[str]) -> None:
    """Keep ``secrets`` out of what httpx, httpcore and PTB log, at every level."""
    _redactor.secrets.update(secret for secret in secrets if secret)
    names = [
        name for name in list(logging.root.manager.loggerDict) if name.split(".", 1)[0] in _NOISY
    ]
    for name in {*_NOISY, *names}:
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)


def retry_seconds(error: TelegramRetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB warns that ``retry_after`` becomes a timedelta; both shapes are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


# -- errors ----------------------------------------------------------------------------


class TooLong(PermanentError):
    """Telegram refused a text or caption as too long: cut it and send it again."""


class _Moved(Exception):
    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"moved to {new_chat_id}")
        self.new_chat_id = str(new_chat_id)


class _TopicGone(Exception):
    """The forum topic was deleted: the group's General topic gets the message."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's flood limits (FAQ; PTB ``constants.FloodLimit``)."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0


@dataclass(slots=True)
class _Target:
    """Where the parts of one message go; the chat changes if the group moves."""

    chat_id: str
    thread_id: int | None
    group: bool


async def _no_one_told(old: str, new: str) -> None:
    return None


class TelegramClient:
    """Turns one :class:`OutgoingMessage` into Bot API calls, paced and with errors mapped."""

    def __init__(
        self,
        bot: Bot,
        limits: Limits | None = None,
        *,
        on_moved: OnMoved = _no_one_told,
    ) -> None:
        self.bot = bot
        self.limits = limits or Limits()
        self.on_moved = on_moved
        # Moving windows, as Telegram counts: a whole burst at once, never more.
        self._overall = RateWindow(self.limits.per_second)
        self._chats = KeyedWindows(self.limits.per_chat_per_second)
        self._groups = KeyedWindows(self.limits.per_group_per_minute, per=60.0)
        # Reads files from Indaba's signed links (made on the first one).
        self._http: httpx.AsyncClient | None = None

    def share_budget(self, budget: SharedBudget | None) -> None:
        """Count the limits with every process sending with this token (named by its
        hash, never the token)."""
        prefix = "telegram:" + hashlib.sha256(self.bot.token.encode()).hexdigest()[:16]
        self._overall.share(budget, f"{prefix}:all")
        self._chats.share(budget, f"{prefix}:chat")
        self._groups.share(budget, f"{prefix}:group")

    @classmethod
    def connect(
        cls, token: str, api_url: str, limits: Limits | None = None, **options: Any
    ) -> TelegramClient:
        bot = Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
        return cls(bot, limits, **options)

    @property
    def username(self) -> str:
        return self.bot.username

    @property
    def user_id(self) -> int:
        return self.bot.id

    # -- set-up ---------------------------------------------------------------------------

    async def initialize(self, api_url: str) -> None:
        """``getMe``: a wrong token or an unreachable API is one line for the operator."""
        try:
            await self.bot.initialize()
        except InvalidToken as error:
            raise StartupError(
                f"INDABA_TELEGRAM_BOT_TOKEN was refused by Telegram: {error.message}"
            ) from None
        except TelegramError as error:
            raise StartupError(
                f"cannot reach the Telegram Bot API at {api_url}: {error.message}"
            ) from None

    async def set_up(
        self,
        commands: Sequence[tuple[str, str, bool]],
        allowed_updates: list[str],
        webhook_url: str = "",
        secret: str = "",
    ) -> None:
        """The "/" menus for private chats and groups, and where updates go."""
        try:
            private = [BotCommand(name, text) for name, text, _ in commands]
            group = [BotCommand(name, text) for name, text, in_group in commands if in_group]
            await self.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
            await self.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())
            if webhook_url:
                await self.bot.set_webhook(
                    webhook_url, secret_token=secret, allowed_updates=allowed_updates
                )
            else:
                await self.bot.delete_webhook()
        except TelegramError as error:
            raise StartupError(f"Telegram refused the bot's set-up: {error.message}") from None

    async def get_updates(
        self, offset: int, wait: float, allowed_updates: list[str]
    ) -> list[tuple[int, Update | None]]:
        """Long polling: up to ``wait`` seconds for updates from ``offset`` on, each with
        its id and the parsed update (None when it does not parse, so it is skipped
        instead of blocking every update behind it)."""
        with warnings.catch_warnings():
            # PTB suggests get_updates, which parses (and fails) the whole batch at once.
            warnings.simplefilter("ignore", PTBUserWarning)
            raw = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": int(wait),
                    "allowed_updates": allowed_updates,
                },
                read_timeout=wait + 10,
            )
        updates: list[tuple[int, Update | None]] = []
        for data in raw if isinstance(raw, list) else []:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int):
                continue
            try:
                updates.append((update_id, Update.de_json(data, self.bot)))
            except Exception as error:  # PTB raises whatever a wrong shape trips on
                log.warning("telegram: skipped malformed update %s (%s)", update_id, error)
                updates.append((update_id, None))
        return updates

    async def answer_callback(self, query_id: str, text: str) -> bool:
        """Stop the spinner on the member's button, with a short note; False when
        Telegram no longer takes an answer (answered already, or too old)."""
        try:
            await self.bot.answer_callback_query(query_id, text=text or None)
        except TelegramError as error:
            log.info("telegram: could not answer a button press: %s", error.message)
            return False
        return True

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self.bot.shutdown()

    # -- pacing and errors ----------------------------------------------------------------

    async def _call(self, target: _Target, call: Callable[[], Awaitable[T]]) -> T:
        chat_id = target.chat_id
        windows = [self._groups.bucket(chat_id)] if target.group else []
        windows += [self._chats.bucket(chat_id), self._overall]
        try:
            async with sending_all(*windows):
                return await call()
        except TelegramRetryAfter as error:
            seconds = retry_seconds(error)
            # Everyone waits: Telegram's flood control counts the whole bot.
            self._overall.penalise(seconds)
            self._chats.bucket(chat_id).penalise(seconds)
            raise RetryAfter(seconds, f"telegram flood control: retry after {seconds}s") from None
        except ChatMigrated as error:
            raise _Moved(error.new_chat_id) from None
        except Forbidden as error:
            if "blocked" in error.message.lower():  # "bot was blocked by the user"
                raise Blocked(f"telegram: {error.message}") from None
            raise Unreachable(f"telegram: {error.message}") from None
        except BadRequest as error:
            text = error.message.lower()
            if "too long" in text:
                raise TooLong(f"telegram: {error.message}") from None
            # A topic deleted, or closed to the bot: the group's General gets it instead.
            gone = "thread not found" in text or "topic_closed" in text
            if gone and target.thread_id is not None:
                raise _TopicGone() from None
            if "chat not found" in text:
                raise Unreachable(f"telegram: {error.message}") from None
            raise PermanentError(f"telegram: {error.message}") from None
        except InvalidToken as error:
            # The operator must replace the token; keep the message until they do.
            log.error("telegram refused the bot token; messages wait until it is replaced")
            raise TransientError(f"telegram: {error.message}") from None
        except (TimedOut, NetworkError) as error:
            if "entity too large" in error.message.lower():  # a 413: the file is too big
                raise PermanentError(f"telegram: {error.message}") from None
            raise TransientError(f"telegram: {error.message}") from None
        except TelegramError as error:
            raise TransientError(f"telegram: {error.message}") from None

    async def _call_following(
        self,
        target: _Target,
        call: Callable[[_Target], Awaitable[T]],
        *,
        in_place: bool = False,
    ) -> T:
        """:meth:`_call`, following a group that moved and a topic that was deleted;
        ``in_place`` also waits out flood control and network errors here, a few times."""
        waited = 0.0
        failures = 0
        while True:
            try:
                return await self._call(target, lambda: call(target))
            except _Moved as moved:
                old, target.chat_id = target.chat_id, moved.new_chat_id
                log.info("telegram: group %s is now the supergroup %s", old, moved.new_chat_id)
                try:
                    await self.on_moved(old, moved.new_chat_id)
                except Exception:
                    log.exception("telegram: could not record that group %s moved", old)
            except _TopicGone:
                target.thread_id = None
            except RetryAfter as error:
                if not in_place or waited + error.seconds > MAX_WAIT_IN_PLACE:
                    raise
                waited += error.seconds
                await asyncio.sleep(error.seconds)
            except TransientError:
                failures += 1
                if not in_place or failures >= IN_PLACE_ATTEMPTS:
                    raise
                await asyncio.sleep(min(2.0**failures, 10.0))

    # -- sending --------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        chat_id, thread_id = split_conversation(message.address.conversation_id)
        target = _Target(chat_id, thread_id, message.address.kind is ConversationKind.GROUP)
        if message.edit_of:
            return await self._edit(message, target)
        if message.attachment is not None:
            with _redactor.hiding(message.attachment.url):
                sent = await self._document(message, message.attachment, target)
        elif message.poll and self._poll_fits(message):
            return await self._poll(message, target)
        else:
            sent = await self._text(target, self._chunks(message), message)
        return MessageRef(PLATFORM, str(sent.chat.id), message_key(sent.chat.id, sent.message_id))

    async def _text(
        self,
        target: _Target,
        chunks: list[str],
        message: OutgoingMessage | None,
        *,
        after: Message | None = None,
    ) -> Message:
        """Send ``chunks`` in order; the last carries the message's buttons. ``after``
        is a part of the same message sent already (its document), so these are retried
        in place too and do not reply again."""
        queue = deque(chunks)
        reply = self._reply_parameters(message) if message is not None and after is None else None
        keyboard = self._reply_markup(message) if message is not None else None
        last: Message | None = after
        while queue:
            chunk = queue.popleft()
            first, final = last is None, not queue

            async def part(
                t: _Target, chunk: str = chunk, first: bool = first, final: bool = final
            ) -> Message:
                return await self.bot.send_message(
                    t.chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=t.thread_id,
                    reply_markup=keyboard if final else None,
                    reply_parameters=reply if first else None,
                )

            try:
                last = await self._call_following(target, part, in_place=not first)
            except TooLong:
                try:
                    head, rest = halve(chunk)
                except ValueError:
                    raise TooLong("telegram: a single character is too long") from None
                log.warning(
                    "telegram refused %s units as too long; sending them in two", utf16_len(chunk)
                )
                queue.extendleft([rest, head])
        assert last is not None
        return last

    def _chunks(self, message: OutgoingMessage, limit: int = MAX_TEXT) -> list[str]:
        head = mention_html(message.mention) + " " if message.mention else ""
        chunks = render_html(message.text, limit - utf16_len(head))
        chunks[0] = head + chunks[0]
        return chunks

    async def _document(
        self, message: OutgoingMessage, attachment: Attachment, target: _Target
    ) -> Message:
        """The file as an uploaded document (multipart, with its name and type), the
        text as its caption when it fits Telegram's 1,024 units, else the document first
        and the text after it."""
        body = await attachment_bytes(attachment, self._fetch)
        as_caption = self._chunks(message, MAX_CAPTION)
        caption = as_caption[0] if len(as_caption) == 1 and as_caption[0].strip() else None
        reply = self._reply_parameters(message)

        async def upload(t: _Target, caption: str | None) -> Message:
            document = InputFile(body, filename=attachment.filename)
            document.mimetype = attachment.media_type
            return await self.bot.send_document(
                t.chat_id,
                document,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                message_thread_id=t.thread_id,
                reply_markup=self._reply_markup(message) if caption else None,
                reply_parameters=reply,
                write_timeout=UPLOAD_TIMEOUT,
            )

        if caption is not None:
            try:
                return await self._call_following(target, lambda t: upload(t, caption))
            except TooLong:  # Telegram counted the caption longer than we did
                log.warning("telegram refused a caption as too long; sending it after the file")
        sent = await self._call_following(target, lambda t: upload(t, None))
        if not message.text.strip():
            return sent
        return await self._text(target, self._chunks(message), message, after=sent)

    async def _fetch(self, url: str) -> bytes:
        """A file at Indaba's signed link; errors never quote the link."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=UPLOAD_TIMEOUT, follow_redirects=False)
        try:
            answer = await self._http.get(url)
        except httpx.HTTPError as error:
            raise TransientError(
                f"telegram: could not read the file ({type(error).__name__})"
            ) from None
        if answer.status_code >= 500:
            raise TransientError(f"telegram: the file's link answered {answer.status_code}")
        if answer.status_code != 200:
            raise PermanentError(f"telegram: the file's link answered {answer.status_code}")
        return answer.content

    def _reply_parameters(self, message: OutgoingMessage) -> ReplyParameters | None:
        if not message.reply_to:
            return None
        try:
            _, message_id = split_key(message.reply_to)
        except ValueError:
            return None
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

    def _reply_markup(self, message: OutgoingMessage) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        if message.choices and len(message.choices) <= MAX_BUTTONS:
            for choice in message.choices:
                data = callback_data(choice.id)
                if data is None:
                    raise PermanentError(
                        f"telegram: choice id {choice.id!r} is not 1-{MAX_CALLBACK_DATA} bytes"
                    )
                rows.append(
                    [InlineKeyboardButton(plain(choice.label, MAX_BUTTON_TEXT), callback_data=data)]
                )
        if message.invite_to_dm and self.username:
            rows.append([InlineKeyboardButton(f"@{self.username}", url=deep_link(self.username))])
        return InlineKeyboardMarkup(rows) if rows else None

    @staticmethod
    def _poll_fits(message: OutgoingMessage) -> bool:
        return 2 <= len(message.choices) <= MAX_POLL_OPTIONS

    async def _poll(self, message: OutgoingMessage, target: _Target) -> MessageRef:
        question = plain(message.text, MAX_POLL_QUESTION)
        if question != plain(message.text, 1_000_000):
            # The whole ballot text does not fit a poll question: send it first.
            await self._text(target, self._chunks(message), None)
            question = plain(message.text.split("\n", 1)[0], MAX_POLL_QUESTION) or "?"
        options = [plain(choice.label, MAX_POLL_OPTION) for choice in message.choices]
        sent = await self._call_following(
            target,
            lambda t: self.bot.send_poll(
                t.chat_id,
                question,
                options,
                is_anonymous=False,
                allows_multiple_answers=message.multi_select,
                message_thread_id=t.thread_id,
            ),
        )
        return MessageRef(
            PLATFORM,
            str(sent.chat.id),
            message_key(sent.chat.id, sent.message_id),
            poll_id=sent.poll.id if sent.poll else None,
        )

    async def _edit(self, message: OutgoingMessage, target: _Target) -> MessageRef:
        assert message.edit_of is not None
        try:
            edit_chat, message_id = split_key(message.edit_of)
        except ValueError:
            raise PermanentError(f"telegram: cannot edit {message.edit_of!r}") from None
        if edit_chat:
            target.chat_id = edit_chat
        if message.close_poll:
            await self._call_following(target, lambda t: self.bot.stop_poll(t.chat_id, message_id))
            return MessageRef(PLATFORM, target.chat_id, message.edit_of)
        text = self._chunks(message)[0]
        try:
            await self._call_following(
                target,
                lambda t: self.bot.edit_message_text(
                    text,
                    chat_id=t.chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=self._reply_markup(message),
                ),
            )
        except PermanentError as error:
            # Telegram refuses an edit that changes nothing; the text is already right.
            if "not modified" not in str(error):
                raise
        return MessageRef(PLATFORM, target.chat_id, message.edit_of)
