"""A fake Slack Web API over real HTTP on 127.0.0.1 (aiohttp, port 0).

It answers the methods Indaba uses as Slack documents them, records every call,
enforces chat.postMessage's per-channel limit and a workspace-wide limit with
HTTP 429 and ``Retry-After``, and can play a deactivated user or a channel the bot
is not in. ``apps.connections.open`` hands out a WebSocket URL on the same server
that speaks Socket Mode (hello, envelopes, acknowledgements).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"

POSTING_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    ephemeral_to: str | None = None
    edits: int = 0


@dataclass
class Limit:
    """``rate`` requests per second, bursts of ``burst``; 429 with ``retry_after`` past it."""

    rate: float
    burst: float
    retry_after: int = 1


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


@dataclass
class FakeSlack:
    # chat.postMessage per channel (Slack: about 1/s with short bursts) and workspace-wide.
    channel_limit: Limit | None = field(default_factory=lambda: Limit(1.0, 3.0))
    workspace_limit: Limit | None = None
    # Other methods by name (Slack's tiers), e.g. {"conversations.open": Limit(50/60, 50)}.
    method_limits: dict[str, Limit] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channel_members: dict[str, set[str]] = field(default_factory=dict)
    bot_not_in: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    rate_limited: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._dms: dict[str, str] = {}
        self._channel_buckets: dict[str, _Bucket] = {}
        self._method_buckets: dict[str, _Bucket] = {}
        self._workspace_bucket = _Bucket(self.workspace_limit) if self.workspace_limit else None
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()

    # -- scripting ----------------------------------------------------------------------

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

    def dm_channel(self, user_id: str) -> str:
        return self._dms.setdefault(user_id, f"D{user_id[1:]}")

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

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
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"
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
        for name in ("blocks",):
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

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append(Call(method, args))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        limit = self._limited(method, args)
        if limit is not None:
            self.rate_limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(limit.retry_after)},
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        body: dict[str, Any] = handler(args)
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
        if user["is_bot"]:
            return {"ok": False, "error": "cannot_dm_bot"}
        return {"ok": True, "channel": {"id": self.dm_channel(user_id)}}

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
            user_id = next((u for u, d in self._dms.items() if d == channel), None)
            if user_id is None:
                return "channel_not_found"
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
        if len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks", "errors": ["too many blocks"]}
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if block.get("type") == "section" and len(text) > 3000:
                return {"ok": False, "error": "invalid_blocks"}
            if block.get("type") == "header" and len(text) > 150:
                return {"ok": False, "error": "invalid_blocks"}
        ts = self._next_ts()
        posted = Posted(
            channel, ts, str(args.get("text", "")), blocks, args.get("thread_ts") or None
        )
        self.posted.append(posted)
        message = {"type": "message", "text": posted.text, "ts": ts, "bot_id": BOT_ID}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        ts = str(args.get("ts", ""))
        found = next((p for p in self.posted if p.channel == channel and p.ts == ts), None)
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        found.text = str(args.get("text", ""))
        found.blocks = args.get("blocks") or []
        found.edits += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": found.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        error = self._check_channel(channel)
        if error:
            return {"ok": False, "error": error}
        ts = self._next_ts()
        self.posted.append(
            Posted(
                channel,
                ts,
                str(args.get("text", "")),
                args.get("blocks") or [],
                ephemeral_to=str(args.get("user", "")),
            )
        )
        return {"ok": True, "message_ts": ts}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"}

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

    async def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
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
        return await asyncio.wait_for(future, timeout=10)
