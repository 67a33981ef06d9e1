"""A fake Telegram Bot API server over real HTTP on 127.0.0.1 (port 0).

It serves ``/bot{token}/{method}`` for the methods Indaba uses, records every call,
feeds ``getUpdates`` long polling from a queue the test fills (or, once a webhook is
set, POSTs each update to it with the secret header, as Telegram does), enforces
Telegram's flood limits with 429 + ``parameters.retry_after``, answers 403 for users
who never started the bot and 401 for a wrong token.

As strict as Telegram where Indaba could trip: lengths in UTF-16 code units (text
4096, caption 1024, poll question 300, options 100) and ``callback_data`` of 1-64
bytes, with Telegram's own error texts; basic groups upgraded to supergroups (sends
to the old id fail with ``parameters.migrate_to_chat_id``); forum topics
(``message_thread_id``); the bot removed from a group or blocked by a member, with
the ``my_chat_member`` updates Telegram sends; documents only as multipart uploads
(50 MB at most, captions of 1,024 units). Every call is recorded through the
shared :class:`~tests.fakes.recording.Recorder`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.recording import Call, Recorder

TOKEN = "123456:TEST-token_for-the-fake"
BOT_ID = 123456
BOT_USERNAME = "indaba_test_bot"
SENDS = {"sendMessage", "sendPoll", "sendDocument"}
# Telegram's limit on a file a bot uploads.
UPLOAD_LIMIT = 50 * 1024 * 1024
_JSON_FIELDS = {
    "reply_markup",
    "options",
    "commands",
    "scope",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
}
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
_TAGS |= {"blockquote", "span", "tg-spoiler"}


@dataclass
class FakeLimits:
    """Telegram's flood limits; tests may lower the window sizes to stay fast."""

    per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    retry_after: int = 1
    # Seconds of slack for clocks: a send this close to the window edge still counts.
    tolerance: float = 0.05


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _HtmlCheck(HTMLParser):
    """Telegram's HTML parse mode: known tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.error = f"unsupported start tag {tag!r}"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = f"unexpected end tag {tag!r}"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(text: str) -> str:
    """The visible text of Telegram HTML; ValueError when Telegram would refuse it."""
    parser = _HtmlCheck()
    parser.feed(text)
    parser.close()
    if parser.error or parser.stack:
        raise ValueError(parser.error or f"unclosed tag {parser.stack[-1]!r}")
    return unescape("".join(parser.text))


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part."""

    filename: str
    content_type: str
    body: bytes = field(repr=False)

    def __str__(self) -> str:
        return f"<{self.filename} {self.content_type} {len(self.body)} bytes>"


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class FakeTelegram(Recorder):
    token: str = TOKEN
    limits: FakeLimits = field(default_factory=FakeLimits)
    # Users who pressed Start (they may be written to); a private message from them adds them.
    started: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rate_limited: int = 0
    # Telegram's limit on a message's text; a test may lower it to see a refusal handled.
    text_limit: int = 4096
    forbidden: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        Recorder.__init__(self)
        # Groups the bot was removed from; basic groups upgraded: old id -> new id.
        self.removed: set[int] = set()
        self.migrated: dict[int, int] = {}
        # Forum topics by chat: thread id -> name.
        self.topics: dict[int, dict[int, str]] = {}
        # Topics an admin closed: a bot that is not an admin cannot post there.
        self.closed_topics: set[tuple[int, int]] = set()
        self.callback_answers: list[dict[str, Any]] = []
        # Presses Telegram still takes an answer for (each is answered once at most).
        self.open_queries: set[str] = set()
        self._query_ids = itertools.count(1)
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._poll_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        # Telegram serves one getUpdates at a time: a newer one ends the waiting one (409).
        self._poller = 0
        self.poll_conflicts = 0
        self._sent_at: deque[float] = deque()
        self._chat_sent_at: dict[int, deque[float]] = {}
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.webhook_failures: list[str] = []
        # Each uploaded file: (chat id, file name, content type, bytes).
        self.documents: list[tuple[int, str, str, bytes]] = []

    # -- running --------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        # Room for a file over Telegram's limit, so the fake refuses it as Telegram does.
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # No access log: it stands for Telegram's own servers, whose URLs hold the token.
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def aclose(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what the test looks at -----------------------------------------------------------

    def called(self, method: str, *, ok: bool | None = True) -> list[dict[str, Any]]:
        """The parameters of each ``method`` call (accepted ones by default)."""
        return [call.params for call in self.calls(method, ok=ok)]

    def sent_to(self, chat_id: int, thread: int | None = None) -> list[dict[str, Any]]:
        """Messages and polls the bot sent to ``chat_id`` (in forum topic ``thread``), in order."""
        return [
            message
            for (chat, _), message in sorted(self.messages.items(), key=lambda kv: kv[1]["seq"])
            if chat == chat_id
            and message["from"]["id"] == BOT_ID
            and (thread is None or message.get("message_thread_id") == thread)
        ]

    def texts_to(self, chat_id: int, thread: int | None = None) -> list[str]:
        return [
            m.get("text") or m.get("caption") or m.get("poll", {}).get("question", "")
            for m in self.sent_to(chat_id, thread)
        ]

    def clear(self) -> None:
        self.forget()

    # -- what the test makes members do ---------------------------------------------------

    def user(self, user_id: int, first_name: str, language: str = "en") -> dict[str, Any]:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }
        self.users[user_id] = user
        self.chats.setdefault(user_id, {"id": user_id, "type": "private", "first_name": first_name})
        return user

    def group(self, chat_id: int, title: str, kind: str = "supergroup") -> dict[str, Any]:
        """A group chat with the bot in it (``kind`` "group" for a basic group)."""
        chat = {"id": chat_id, "type": kind, "title": title}
        self.chats[chat_id] = chat
        return chat

    def topic(self, chat_id: int, thread_id: int, name: str) -> None:
        """A forum topic in ``chat_id`` (which becomes a forum)."""
        self.chats[chat_id]["is_forum"] = True
        self.topics.setdefault(chat_id, {})[thread_id] = name

    async def migrate(self, old_id: int, new_id: int, by: int, *, announce: bool = True) -> int:
        """An admin upgrades the basic group ``old_id``: it becomes the supergroup
        ``new_id``; Telegram posts a service message in each (unless ``announce`` is off,
        as when the bot missed them)."""
        old = self.chats[old_id]
        self.chats[new_id] = {"id": new_id, "type": "supergroup", "title": old["title"]}
        self.migrated[old_id] = new_id
        if announce:
            gone = self._store(old_id, self.users[by], migrate_to_chat_id=new_id)
            await self.push({"message": self._public(gone)})
            came = self._store(new_id, self.users[by], migrate_from_chat_id=old_id)
            return await self.push({"message": self._public(came)})
        return 0

    def _member_update(
        self, chat_id: int, by: int, old: str, new: str, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Indaba", "username": BOT_USERNAME}

        def member(status: str) -> dict[str, Any]:
            # A banned ("kicked") member carries until_date; 0 is forever.
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": user or bot, **extra}

        return {
            "chat": self.chats[chat_id],
            "from": self.users[by],
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    async def remove_bot(self, chat_id: int, by: int) -> int:
        """An admin removes the bot from the group."""
        self.removed.add(chat_id)
        return await self.push(
            {"my_chat_member": self._member_update(chat_id, by, "member", "left")}
        )

    async def add_bot(self, chat_id: int, by: int) -> int:
        """An admin adds the bot to the group again."""
        self.removed.discard(chat_id)
        return await self.push(
            {"my_chat_member": self._member_update(chat_id, by, "left", "member")}
        )

    async def block(self, user_id: int) -> int:
        """A member blocks the bot in their private chat."""
        self.blocked.add(user_id)
        update = self._member_update(user_id, user_id, "member", "kicked")
        return await self.push({"my_chat_member": update})

    async def unblock(self, user_id: int) -> int:
        """A member unblocks (restarts) the bot."""
        self.blocked.discard(user_id)
        self.started.add(user_id)
        update = self._member_update(user_id, user_id, "kicked", "member")
        return await self.push({"my_chat_member": update})

    def _store(self, chat_id: int, sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = {
            "message_id": next(counter),
            "date": int(time.time()),
            "chat": self.chats[chat_id],
            "from": sender,
            "seq": len(self.messages),
            **fields,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if k != "seq"}

    async def say(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        reply_to: int | None = None,
        thread: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """``user_id`` writes ``text`` in ``chat_id`` (their private chat by default), in
        the forum topic ``thread`` when given."""
        chat = user_id if chat_id is None else chat_id
        if chat == user_id:
            self.started.add(user_id)
            self.blocked.discard(user_id)
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            head = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
        if thread is not None:
            assert thread in self.topics.get(chat, {}), f"no topic {thread} in {chat}"
            extra.update(message_thread_id=thread, is_topic_message=True)
        if reply_to is not None:
            extra["reply_to_message"] = self._public(self.messages[(chat, reply_to)])
        message = self._store(chat, self.users[user_id], **extra)
        return await self.push({"message": self._public(message)}), message

    async def edit(self, chat_id: int, message_id: int, text: str) -> int:
        message = self.messages[(chat_id, message_id)]
        message["text"] = text
        message["edit_date"] = int(time.time())
        return await self.push({"edited_message": self._public(message)})

    async def joins(self, chat_id: int, user_id: int) -> int:
        message = self._store(chat_id, self.users[user_id], new_chat_members=[self.users[user_id]])
        return await self.push({"message": self._public(message)})

    async def vote(self, user_id: int, poll_id: str, option_ids: list[int]) -> int:
        return await self.push(
            {
                "poll_answer": {
                    "poll_id": poll_id,
                    "user": self.users[user_id],
                    "option_ids": option_ids,
                    "option_persistent_ids": [str(i) for i in option_ids],
                }
            }
        )

    async def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        message = self._public(self.messages[(chat_id, message_id)])
        query_id = f"cq{next(self._query_ids)}"
        self.open_queries.add(query_id)
        return await self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.users[user_id],
                    "chat_instance": str(chat_id),
                    "message": message,
                    "data": data,
                }
            }
        )

    async def push(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Deliver an update (by webhook when one is set); returns its ``update_id``."""
        update = {"update_id": update_id or next(self._update_ids), **update}
        if self.webhook.get("url"):
            await self._post_webhook(update)
        else:
            async with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
        return int(update["update_id"])

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with self._client.post(self.webhook["url"], json=update, headers=headers) as reply:
            if reply.status != 200:
                self.webhook_failures.append(f"{reply.status} {await reply.text()}")

    # -- the Bot API --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        to = str(params.get("chat_id", ""))
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as error:
            self.record(Call(method, to, params, ok=False, error=error.description))
            return self._error(error)
        self.record(Call(method, to, params))
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.code)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            raw = await request.read()
            return dict(json.loads(raw)) if raw else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                # An uploaded file: kept as the file, recorded by its name, type and size.
                params[key] = Upload(value.filename, value.content_type, value.file.read())
                continue
            text = value if isinstance(value, str) else str(value)
            params[key] = json.loads(text) if key in _JSON_FIELDS else text
        params.update({k: v for k, v in request.query.items() if k not in params})
        return params

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[chat_id],
            )
        if chat_id in self.removed:
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        thread = params.get("message_thread_id")
        if thread is not None and int(thread) not in self.topics.get(chat_id, {}):
            raise ApiError(400, "Bad Request: message thread not found")
        if thread is not None and (chat_id, int(thread)) in self.closed_topics:
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")
        if chat["type"] == "private":
            if chat_id in self.blocked:
                self.forbidden += 1
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self.started:
                self.forbidden += 1
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _flood_control(self, chat: dict[str, Any]) -> None:
        now = time.monotonic()
        limits = self.limits
        slack = limits.tolerance
        overall = self._sent_at
        while overall and overall[0] <= now - 1.0 + slack:
            overall.popleft()
        per_chat = self._chat_sent_at.setdefault(chat["id"], deque())
        group = chat["type"] != "private"
        window = 60.0 if group else 1.0
        while per_chat and per_chat[0] <= now - window + slack:
            per_chat.popleft()
        chat_limit = limits.per_group_per_minute if group else limits.per_chat_per_second
        # Groups also get the per-chat limit of one a second, over the last second.
        recent = sum(1 for t in per_chat if t > now - 1.0 + slack)
        if (
            len(overall) >= limits.per_second
            or len(per_chat) >= chat_limit
            or (group and recent >= limits.per_chat_per_second)
        ):
            self.rate_limited += 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {limits.retry_after}",
                retry_after=limits.retry_after,
            )
        overall.append(now)
        per_chat.append(now)

    @staticmethod
    def _check_markup(params: dict[str, Any]) -> None:
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if data is None and not button.get("url"):
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")

    @staticmethod
    def _visible(params: dict[str, Any], field_name: str) -> str:
        text = str(params.get(field_name, ""))
        if params.get("parse_mode") != "HTML":
            return text
        try:
            return check_html(text)
        except ValueError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None

    @staticmethod
    def _check_entities(params: dict[str, Any], visible: str) -> None:
        length = utf16_len(visible)
        for entity in params.get("entities") or []:
            if entity["offset"] < 0 or entity["offset"] + entity["length"] > length:
                raise ApiError(
                    400, "Bad Request: can't parse entities: entity beyond the end of the text"
                )

    def _check_text(self, params: dict[str, Any]) -> None:
        visible = self._visible(params, "text")
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(visible) > self.text_limit:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_entities(params, visible)

    def _check_caption(self, params: dict[str, Any]) -> None:
        if utf16_len(self._visible(params, "caption")) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Indaba",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token", "")}
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = (params.get("scope") or {}).get("type", "default")
        self.commands[scope] = list(params.get("commands") or [])
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            self._poller += 1
            me = self._poller
            self._changed.notify_all()
            while True:
                if self._poller != me:
                    self.poll_conflicts += 1
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
                if self._updates or self._closing:
                    return list(self._updates)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return []

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        self._check_text(params)
        self._check_markup(params)
        self._flood_control(chat)
        extra: dict[str, Any] = {"text": params["text"], **self._thread(params)}
        if params.get("reply_markup"):
            extra["reply_markup"] = params["reply_markup"]
        if params.get("reply_parameters"):
            extra["reply_to"] = params["reply_parameters"]["message_id"]
        message = self._store(chat["id"], await self._m_getMe({}), **extra)
        return self._public(message)

    @staticmethod
    def _thread(params: dict[str, Any]) -> dict[str, Any]:
        thread = params.get("message_thread_id")
        if thread is None:
            return {}
        return {"message_thread_id": int(thread), "is_topic_message": True}

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        self._check_caption(params)
        self._flood_control(chat)
        message = self._store(
            chat["id"],
            await self._m_getMe({}),
            photo=[{"file_id": "photo", "file_unique_id": "p", "width": 1, "height": 1}],
            caption=params.get("caption", ""),
            **self._thread(params),
        )
        return self._public(message)

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        upload = params.get("document")
        if not isinstance(upload, Upload):
            # A string names a file on Telegram's servers or a public URL Telegram would
            # fetch itself; Indaba's files are uploaded.
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if len(upload.body) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        if not upload.body:
            raise ApiError(400, "Bad Request: file must be non-empty")
        self._check_caption(params)
        self._check_markup(params)
        self._flood_control(chat)
        self.documents.append((chat["id"], upload.filename, upload.content_type, upload.body))
        extra: dict[str, Any] = {
            "document": {
                "file_id": f"doc{len(self.documents)}",
                "file_unique_id": f"d{len(self.documents)}",
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(upload.body),
            },
            **self._thread(params),
        }
        if params.get("caption"):
            extra["caption"] = params["caption"]
        if params.get("reply_markup"):
            extra["reply_markup"] = params["reply_markup"]
        message = self._store(chat["id"], await self._m_getMe({}), **extra)
        return self._public(message)

    async def _m_sendPoll(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        question = str(params.get("question", ""))
        options = [o if isinstance(o, str) else o["text"] for o in params.get("options") or []]
        if not question:
            raise ApiError(400, "Bad Request: poll question must be non-empty")
        if utf16_len(question) > 300:
            raise ApiError(400, "Bad Request: poll question length must not exceed 300")
        if not 2 <= len(options) <= 12:
            raise ApiError(400, "Bad Request: poll must have at least 2 option")
        if any(not 1 <= utf16_len(o) <= 100 for o in options):
            raise ApiError(400, "Bad Request: poll options length must not exceed 100")
        self._flood_control(chat)
        poll_id = f"poll{next(self._poll_ids)}"
        poll = {
            "id": poll_id,
            "question": question,
            "options": [
                {"text": o, "voter_count": 0, "persistent_id": str(i)}
                for i, o in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": params.get("is_anonymous") not in (False, "false", "False"),
            "type": "regular",
            "allows_multiple_answers": params.get("allows_multiple_answers") in (True, "true"),
            "allows_revoting": True,
            "members_only": False,
        }
        message = self._store(
            chat["id"], await self._m_getMe({}), poll=poll, **self._thread(params)
        )
        self.polls[poll_id] = {"chat_id": chat["id"], "message_id": message["message_id"]}
        return self._public(message)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None or "text" not in message:
            raise ApiError(400, "Bad Request: message to edit not found")
        self._check_text(params)
        self._check_markup(params)
        if message["text"] == params["text"] and not params.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        message["edit_date"] = int(time.time())
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return self._public(message)

    async def _m_stopPoll(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None or "poll" not in message:
            raise ApiError(400, "Bad Request: message with poll to stop not found")
        if message["poll"]["is_closed"]:
            raise ApiError(400, "Bad Request: poll has already been closed")
        message["poll"]["is_closed"] = True
        return dict(message["poll"])

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if utf16_len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if str(params.get("callback_query_id")) not in self.open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.open_queries.discard(str(params["callback_query_id"]))
        self.callback_answers.append(params)
        return True

    async def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        return {"status": "member", "user": user}
