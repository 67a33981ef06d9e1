"""A fake Slack Web API over real HTTP on 127.0.0.1 (aiohttp, port 0).

It answers the methods Indaba uses as Slack documents them and records every call
through the shared :class:`~tests.fakes.recording.Recorder`. It is as strict as Slack
where Indaba could go wrong:

- rates: ``chat.postMessage`` about 1/s per channel, a workspace-wide limit on
  ``chat.*``, and each other method at its tier (Tier 2 20/min, Tier 3 50/min, Tier 4
  100/min), HTTP 429 with ``Retry-After`` past them;
- Block Kit: 50 blocks per message, 100 per view, section text 3000, header 150,
  button value 2000, ``action_id``/``block_id`` 255, 25 elements per actions block,
  modal titles 24 characters, ``private_metadata`` 3000;
- ``views.open`` only with a ``trigger_id`` Slack issued less than 3 s ago, once;
- ``response_url``: five posts within thirty minutes, then ``used_url`` /
  ``expired_url``; it posts wherever the command was typed, the bot a member or not;
- ``chat.postEphemeral`` and ``chat.postMessage`` need the bot in the channel;
- deactivated users (``user_disabled``, ``account_inactive``) and unknown ones
  (``user_not_found``);
- Slack's built-in slash commands, which no app may declare (:data:`RESERVED_COMMANDS`);
- files in three steps: ``files.getUploadURLExternal`` (``filename`` and ``length``
  required, ``files:write`` scope or ``missing_scope``), the bytes POSTed once to the
  URL it gave (single use, the length declared), then ``files.completeUploadExternal``
  (only files whose bytes arrived, into a channel the bot can post to).

``apps.connections.open`` hands out a WebSocket URL on the same server that speaks
Socket Mode (hello, envelopes, acknowledgements).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.recording import Call, Recorder

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"

POSTING_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
# Slack's built-in commands (PLATFORMS.md, "Checked later"): an app cannot take them.
RESERVED_COMMANDS = frozenset(
    "/" + name
    for name in (
        *("invite", "join", "leave", "remind", "status", "away", "dnd", "feed", "msg", "dm"),
        *("me", "mute", "topic", "who", "search", "shrug", "collapse", "expand", "apps"),
        *("active", "archive", "rename", "remove", "kick", "open", "prefs", "shortcuts", "star"),
    )
)
# The scopes the app was installed with (slack-manifest.yaml's), as a token carries them.
SCOPES = frozenset(
    {
        *("app_mentions:read", "channels:history", "channels:read", "chat:write", "commands"),
        *("files:write", "groups:history", "groups:read", "im:history", "im:read", "im:write"),
        "users:read",
    }
)
METHOD_SCOPE = {
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
TRIGGER_SECONDS = 3.0
REPLY_URL_USES = 5
REPLY_URL_SECONDS = 30 * 60.0


@dataclass
class Limit:
    """``rate`` requests per second, bursts of ``burst``; 429 with ``retry_after`` past it."""

    rate: float
    burst: float
    retry_after: int = 1

    @classmethod
    def per_minute(cls, calls: float, retry_after: int = 1) -> Limit:
        return cls(calls / 60, calls, retry_after)


TIER_2 = Limit.per_minute(20)
TIER_3 = Limit.per_minute(50)
TIER_4 = Limit.per_minute(100)
# The tier of each method Indaba calls (chat.postMessage has its own special limit).
METHOD_TIERS: dict[str, Limit] = {
    "conversations.open": TIER_3,
    "conversations.list": TIER_2,
    "users.conversations": TIER_3,
    "conversations.members": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.publish": TIER_4,
    "auth.test": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edits: int = 0
    via: str = "api"  # or "response_url", or "file" (a shared file's comment)


@dataclass
class Upload:
    """A file on its way: announced by files.getUploadURLExternal, then its bytes."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass
class SharedFile:
    """A file shared in a channel by files.completeUploadExternal."""

    channel: str
    file_id: str
    filename: str
    title: str
    content: bytes
    initial_comment: str
    thread_ts: str | None = None


@dataclass
class ReplyUrl:
    channel: str
    user: str
    issued: float
    uses: int = 0


class _Bucket:
    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.tokens = limit.burst
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.limit.burst, self.tokens + (now - self.updated) * self.limit.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def block_errors(blocks: Any, most: int) -> list[str]:
    """What Slack would refuse in ``blocks`` (``invalid_blocks``)."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    errors = []
    if len(blocks) > most:
        errors.append(f"more than {most} blocks")
    for block in blocks:
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "section" and len(text) > 3000:
            errors.append("section text over 3000")
        if kind == "header" and len(text) > 150:
            errors.append("header text over 150")
        if len(str(block.get("block_id", ""))) > 255:
            errors.append("block_id over 255")
        elements = block.get("elements") or []
        if kind == "actions" and len(elements) > 25:
            errors.append("more than 25 elements")
        for element in [*elements, block.get("element") or {}]:
            if len(str(element.get("action_id", ""))) > 255:
                errors.append("action_id over 255")
            if len(str(element.get("value", ""))) > 2000:
                errors.append("button value over 2000")
    return errors


class FakeSlack(Recorder):
    def __init__(
        self,
        *,
        channel_limit: Limit | None = None,
        workspace_limit: Limit | None = None,
        method_limits: dict[str, Limit] | None = None,
    ) -> None:
        Recorder.__init__(self)
        # chat.postMessage per channel (Slack: about 1/s with short bursts), workspace-wide.
        self.channel_limit = channel_limit
        self.workspace_limit = workspace_limit
        # Other methods by name (Slack's tiers); the defaults are Slack's.
        self.method_limits = {**METHOD_TIERS, **(method_limits or {})}
        self.users: dict[str, dict[str, Any]] = {}
        self.channel_members: dict[str, set[str]] = {}
        self.bot_not_in: set[str] = set()
        # Users the bot may not see (a guest, another org): user_not_visible.
        self.hidden: set[str] = set()
        # What was posted, in order (tests may clear it); the messages Slack keeps.
        self.posted: list[Posted] = []
        self.messages: dict[tuple[str, str], Posted] = {}
        self.views: list[dict[str, Any]] = []
        self.homes: dict[str, dict[str, Any]] = {}
        self.scopes: set[str] = set(SCOPES)
        self.files: list[SharedFile] = []
        self._uploads: dict[str, Upload] = {}
        self._upload_urls: dict[str, str] = {}  # token -> file id, until used
        self.rate_limited = 0
        self.url = ""
        self.base = ""
        self.clock_offset = 0.0
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._dms: dict[str, str] = {}
        self._opened: set[str] = set()
        self._triggers: dict[str, float] = {}
        self._reply_urls: dict[str, ReplyUrl] = {}
        self._channel_buckets: dict[str, _Bucket] = {}
        self._method_buckets: dict[str, _Bucket] = {}
        self._workspace_bucket = _Bucket(workspace_limit) if workspace_limit else None
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()

    # -- scripting ----------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def add_user(
        self, user_id: str, name: str, tz: str = "Africa/Lagos", *, is_bot: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name.lower(),
            "real_name": name,
            "deleted": False,
            "is_bot": is_bot,
            "tz": tz,
            "tz_offset": 3600,
            "profile": {"display_name": name, "real_name": name},
        }

    def deactivate(self, user_id: str) -> None:
        self.users[user_id]["deleted"] = True

    def delete(self, user_id: str) -> None:
        """The account is gone altogether: Slack no longer knows the id."""
        self.users.pop(user_id, None)

    def dm_channel(self, user_id: str) -> str:
        return self._dms.setdefault(user_id, f"D{user_id[1:]}")

    def member_opens_dm(self, user_id: str) -> str:
        """The member writes to the bot first (its Messages tab): the IM exists."""
        self._opened.add(user_id)
        return self.dm_channel(user_id)

    def open_dms(self) -> dict[str, str]:
        """The DMs the bot has open (user id → channel), as ``users.conversations`` lists."""
        return {user: self.dm_channel(user) for user in sorted(self._opened)}

    def trigger(self) -> str:
        """A ``trigger_id`` as Slack puts in a command or a press (valid 3 s, once)."""
        trigger = f"{next(self._ids)}.{uuid.uuid4().hex[:12]}"
        self._triggers[trigger] = self.now()
        return trigger

    def response_url(self, channel: str, user: str) -> str:
        """A ``response_url`` as Slack puts in a command or a press in ``channel``."""
        token = uuid.uuid4().hex
        self._reply_urls[token] = ReplyUrl(channel, user, self.now())
        return f"{self.url.removesuffix('/api/')}/hooks/{token}"

    def calls_to(self, method: str) -> list[Call]:
        return self.calls(method)

    def in_channel(self, channel: str) -> list[Posted]:
        return [p for p in self.posted if p.channel == channel]

    def to_user(self, user_id: str) -> list[Posted]:
        return self.in_channel(self.dm_channel(user_id))

    def find(self, ts: str) -> Posted:
        return next(p for p in self.posted if p.ts == ts)

    # -- serving ------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/hooks/{token}", self._hook)
        app.router.add_post("/upload/v1/{token}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/api/"
        self._port = port
        return self

    async def aclose(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for name in ("blocks", "view", "files"):
            if isinstance(args.get(name), str):
                args[name] = json.loads(args[name])
        return args

    def _limited(self, method: str, args: dict[str, Any]) -> Limit | None:
        limit = self.method_limits.get(method)
        if limit is not None:
            bucket = self._method_buckets.setdefault(method, _Bucket(limit))
            if not bucket.take():
                return limit
        workspace = self._workspace_bucket
        if method in POSTING_METHODS and workspace is not None and not workspace.take():
            return workspace.limit
        if method == "chat.postMessage" and self.channel_limit is not None:
            channel = str(args.get("channel", ""))
            bucket = self._channel_buckets.setdefault(channel, _Bucket(self.channel_limit))
            if not bucket.take():
                return self.channel_limit
        return None

    @staticmethod
    def _to(args: dict[str, Any]) -> str:
        for name in ("channel", "users", "user", "user_id", "trigger_id"):
            if args.get(name):
                return str(args[name])
        return ""

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        to = self._to(args)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            self.record(Call(method, to, args, ok=False, error="invalid_auth"))
            return web.json_response({"ok": False, "error": "invalid_auth"})
        needed = METHOD_SCOPE.get(method)
        if needed is not None and needed not in self.scopes:
            self.record(Call(method, to, args, ok=False, error="missing_scope"))
            return web.json_response({"ok": False, "error": "missing_scope", "needed": needed})
        limit = self._limited(method, args)
        if limit is not None:
            self.rate_limited += 1
            self.record(Call(method, to, args, ok=False, error="ratelimited"))
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(limit.retry_after)},
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            self.record(Call(method, to, args, ok=False, error="unknown_method"))
            return web.json_response({"ok": False, "error": "unknown_method"})
        body: dict[str, Any] = handler(args)
        self.record(Call(method, to, args, ok=bool(body.get("ok")), error=body.get("error", "")))
        return web.json_response(body)

    # -- methods ----------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://indaba-test.slack.com/",
            "team": "Indaba Test",
            "user": "indaba",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("users", ""))
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        if user["deleted"]:
            return {"ok": False, "error": "user_disabled"}
        if user_id in self.hidden:
            return {"ok": False, "error": "user_not_visible"}
        if user["is_bot"]:
            return {"ok": False, "error": "cannot_dm_bot"}
        self._opened.add(user_id)
        return {"ok": True, "channel": {"id": self.dm_channel(user_id)}}

    def _users_conversations(self, args: dict[str, Any]) -> dict[str, Any]:
        if str(args.get("types", "")) != "im":
            return {"ok": False, "error": "invalid_types"}
        limit = int(args.get("limit", 100))
        if not 1 <= limit < 1000:
            return {"ok": False, "error": "invalid_limit"}
        opened = list(self.open_dms().items())
        start = int(str(args.get("cursor") or "0"))
        page = opened[start : start + limit]
        more = start + limit < len(opened)
        return {
            "ok": True,
            "channels": [
                {"id": channel, "is_im": True, "user": user, "created": 1} for user, channel in page
            ],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel not in self.channel_members:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "members": sorted(self.channel_members[channel]),
            "response_metadata": {"next_cursor": ""},
        }

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _check_channel(self, channel: str) -> str | None:
        if channel.startswith("D"):
            # An IM exists once the bot opened it or the member wrote to the bot.
            user_id = next((u for u, d in self._dms.items() if d == channel), None)
            if user_id is None or user_id not in self._opened:
                return "channel_not_found"
            if user_id not in self.users:
                return "user_not_found"
            if self.users[user_id]["deleted"]:
                return "account_inactive"
            return None
        if channel in self.bot_not_in:
            return "not_in_channel"
        if channel not in self.channel_members:
            return "channel_not_found"
        return None

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        error = self._check_channel(channel)
        if error:
            return {"ok": False, "error": error}
        blocks = args.get("blocks") or []
        problems = block_errors(blocks, 50)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        ts = self._next_ts()
        posted = Posted(
            channel, ts, str(args.get("text", "")), blocks, args.get("thread_ts") or None
        )
        self.posted.append(posted)
        self.messages[(channel, ts)] = posted
        message = {"type": "message", "text": posted.text, "ts": ts, "bot_id": BOT_ID}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        ts = str(args.get("ts", ""))
        found = self.messages.get((channel, ts))
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        blocks = args.get("blocks") or []
        problems = block_errors(blocks, 50)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        found.text = str(args.get("text", ""))
        found.blocks = blocks
        found.edits += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": found.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        error = self._check_channel(channel)
        if error:
            return {"ok": False, "error": error}
        user = str(args.get("user", ""))
        if user not in self.users or self.users[user]["deleted"]:
            return {"ok": False, "error": "user_not_in_channel"}
        ts = self._next_ts()
        self.posted.append(
            Posted(channel, ts, str(args.get("text", "")), args.get("blocks") or [], None, user)
        )
        return {"ok": True, "message_ts": ts}

    def _view_errors(self, view: Any, kind: str) -> list[str]:
        if not isinstance(view, dict) or view.get("type") != kind:
            return [f"view must be of type {kind}"]
        errors = block_errors(view.get("blocks") or [], 100)
        if kind == "modal":
            title = (view.get("title") or {}).get("text", "")
            if not title or len(title) > 24:
                errors.append("title must be 1 to 24 characters")
            if len(str(view.get("callback_id", ""))) > 255:
                errors.append("callback_id over 255")
            if len(str(view.get("private_metadata", ""))) > 3000:
                errors.append("private_metadata over 3000")
            has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
            if has_input and not view.get("submit"):
                errors.append("a modal with inputs needs submit")
        return errors

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id", ""))
        issued = self._triggers.pop(trigger, None)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if self.now() - issued > TRIGGER_SECONDS:
            return {"ok": False, "error": "expired_trigger_id"}
        view = args.get("view")
        problems = self._view_errors(view, "modal")
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": problems}
        assert isinstance(view, dict)
        opened = {**view, "id": f"V{next(self._ids):08d}"}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id", ""))
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        if user["deleted"]:
            return {"ok": False, "error": "account_inactive"}
        view = args.get("view")
        problems = self._view_errors(view, "home")
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": problems}
        assert isinstance(view, dict)
        published = {**view, "id": f"VH{user_id}"}
        self.homes[user_id] = published
        return {"ok": True, "view": published}

    # -- files, in three steps -------------------------------------------------------------

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        token = uuid.uuid4().hex
        self._uploads[file_id] = Upload(file_id, filename, int(length))
        self._upload_urls[token] = file_id
        return {"ok": True, "upload_url": f"{self.base}/upload/v1/{token}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = self._upload_urls.pop(request.match_info["token"], None)
        if file_id is None:  # unknown or used already: each URL takes one upload
            self.record(Call("upload", "", {}, ok=False, error="invalid_upload_url"))
            return web.Response(status=404, text="invalid upload url")
        upload = self._uploads[file_id]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file")
            body = part.file.read() if isinstance(part, web.FileField) else b""
        else:
            body = await request.read()
        if len(body) != upload.length:
            self.record(Call("upload", file_id, {"length": len(body)}, ok=False, error="size"))
            return web.Response(status=400, text="size does not match the declared length")
        upload.content = body
        self.record(Call("upload", file_id, {"length": len(body)}))
        return web.Response(text=f"OK - {len(body)}")

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        if channel:
            error = self._check_channel(channel)
            if error:
                return {"ok": False, "error": error}
        done = []
        for item in files:
            upload = self._uploads.get(str(item.get("id", "")))
            if upload is None or upload.content is None:
                return {"ok": False, "error": "file_not_found"}
            done.append((upload, str(item.get("title") or upload.filename)))
        comment = str(args.get("initial_comment") or "")
        for upload, title in done:
            assert upload.content is not None
            del self._uploads[upload.file_id]
            if channel:
                shared = SharedFile(
                    channel,
                    upload.file_id,
                    upload.filename,
                    title,
                    upload.content,
                    comment,
                    args.get("thread_ts") or None,
                )
                self.files.append(shared)
                self.posted.append(Posted(channel, self._next_ts(), comment, [], via="file"))
        return {
            "ok": True,
            "files": [{"id": u.file_id, "title": t, "name": u.filename} for u, t in done],
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"}

    # -- response_url -----------------------------------------------------------------------

    async def _hook(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.json()
        found = self._reply_urls.get(token)
        to = found.channel if found else ""
        error = ""
        if found is None:
            error = "invalid_token"
        elif self.now() - found.issued > REPLY_URL_SECONDS:
            error = "expired_url"
        elif found.uses >= REPLY_URL_USES:
            error = "used_url"
        elif block_errors(body.get("blocks") or [], 50):
            error = "invalid_blocks"
        self.record(Call("response_url", to, body, ok=not error, error=error))
        if error:
            return web.Response(status=404 if error != "invalid_blocks" else 400, text=error)
        assert found is not None
        found.uses += 1
        ephemeral = body.get("response_type", "ephemeral") != "in_channel"
        self.posted.append(
            Posted(
                found.channel,
                self._next_ts(),
                str(body.get("text", "")),
                body.get("blocks") or [],
                ephemeral_to=found.user if ephemeral else None,
                via="response_url",
            )
        )
        return web.Response(text="ok")

    # -- Socket Mode ----------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.socket_connected.set()
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                data = json.loads(message.data)
                future = self._acks.pop(str(data.get("envelope_id")), None)
                if future is not None and not future.done():
                    future.set_result(data)
        self._sockets.remove(ws)
        return ws

    async def push(self, kind: str, payload: dict[str, Any], wait: float = 10) -> dict[str, Any]:
        """Send a Socket Mode envelope (``events_api``, ``slash_commands``, ``interactive``)
        and return the app's acknowledgement."""
        await self.socket_connected.wait()
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(future, timeout=wait)
