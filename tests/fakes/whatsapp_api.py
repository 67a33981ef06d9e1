"""A fake WhatsApp Cloud API over real HTTP on 127.0.0.1 (port 0).

It answers ``POST /{phone_number_id}/messages`` for text, interactive (buttons, list)
and template messages as the Cloud API does, with its error bodies: the documented
limits (3 buttons, 10 rows, title and body lengths), the 24-hour window per member
(131047), the throughput per number (130429) and the pair rate limit (131056). It
records every call, and sends signed webhooks (messages, button and list replies,
statuses) to Indaba's ``/whatsapp/webhook``.

The window is measured on the clock given (the test's virtual clock); rate limits on
real time, since they protect the real Cloud API from real bursts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.recording import Call, Recorder

WINDOW = timedelta(hours=24)
MB = 1024 * 1024
# What the Cloud API takes as media, by message type, and how large each may be.
MEDIA_TYPES: dict[str, tuple[frozenset[str], int]] = {
    "document": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * MB,
    ),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
    ),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
}


@dataclass(frozen=True, slots=True)
class WhatsAppCall(Call):
    """One ``POST /messages`` the fake received (``method`` is the message type, ``to``
    the member's number, ``params`` the JSON body), with the wamid it answered or the
    error code it refused it with (as ``error``)."""

    wamid: str | None = None
    status_code: int = 200

    @property
    def payload(self) -> dict[str, Any]:
        return self.params

    @property
    def type(self) -> str:
        return self.method

    @property
    def error_code(self) -> int | None:
        return int(self.error) if self.error.isdigit() else None

    @property
    def text(self) -> str:
        """The visible text: a text body, an interactive body, a document's caption or the
        template's name."""
        if self.type == "text":
            return str(self.payload["text"]["body"])
        if self.type == "document":
            return str(self.payload["document"].get("caption", ""))
        if self.type == "interactive":
            return str(self.payload["interactive"]["body"]["text"])
        if self.type == "template":
            return f"[template {self.payload['template']['name']}]"
        return ""

    @property
    def choice_ids(self) -> list[str]:
        if self.type != "interactive":
            return []
        interactive = self.payload["interactive"]
        if interactive["type"] == "button":
            return [b["reply"]["id"] for b in interactive["action"]["buttons"]]
        return [r["id"] for s in interactive["action"]["sections"] for r in s["rows"]]


class ApiError(Exception):
    def __init__(self, code: int, message: str, details: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or message
        self.status = status

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": f"({self.code}) {self.message}",
                "type": "OAuthException",
                "code": self.code,
                "error_data": {"messaging_product": "whatsapp", "details": self.details},
                "fbtrace_id": "AbCdEfFakeTrace",
            }
        }


def _invalid(details: str) -> ApiError:
    return ApiError(131009, "Parameter value is not valid", details)


def _length(value: Any, low: int, high: int, what: str) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise _invalid(f"{what} length invalid. Min length: {low}, Max length: {high}")


@dataclass(eq=False)
class FakeWhatsApp(Recorder):
    phone_number_id: str = "1234567890"
    access_token: str = "test-token"
    app_secret: str = "test-app-secret"
    templates: set[str] = field(default_factory=lambda: {"indaba_reopen"})
    # What each approved template is billed as (Meta's categories); others: utility.
    template_categories: dict[str, str] = field(default_factory=dict)
    # Messages per second per number (None: unlimited), pair limit per member.
    number_rate: float | None = None
    pair_interval: float | None = None
    pair_burst: int = 1
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Members whose number cannot receive anything (not on WhatsApp).
    undeliverable: set[str] = field(default_factory=set)
    # Members whose messages are accepted (a wamid) and then reported ``failed`` with
    # this code by a status webhook, as the Cloud API does (see report_failures()).
    fail_later: dict[str, int] = field(default_factory=dict)
    errors: Counter[int] = field(default_factory=Counter)
    # Billable messages by category: templates by theirs, everything else "service".
    billed: Counter[str] = field(default_factory=Counter)
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    webhook_url: str = ""
    url: str = ""
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _number_sends: deque[float] = field(default_factory=deque)
    _pair_tokens: dict[str, tuple[float, float]] = field(default_factory=dict)
    _taken: int = 0
    _failures: list[tuple[str, str, int]] = field(default_factory=list)
    # Uploaded files by media id: (MIME type, filename, bytes).
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Recorder.__init__(self)

    def indaba_settings(self, verify_token: str = "verify-me") -> dict[str, str]:
        """The ``INDABA_WHATSAPP_`` settings of an Indaba that talks to this fake."""
        return {
            "INDABA_WHATSAPP_ACCESS_TOKEN": self.access_token,
            "INDABA_WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
            "INDABA_WHATSAPP_APP_SECRET": self.app_secret,
            "INDABA_WHATSAPP_VERIFY_TOKEN": verify_token,
            "INDABA_WHATSAPP_API_URL": self.url,
            "INDABA_WHATSAPP_TEMPLATE_NAME": "indaba_reopen",
        }

    # -- serving -----------------------------------------------------------------------

    async def start(self) -> str:
        app = Starlette(
            routes=[
                Route("/{phone_number_id}/messages", self._messages, methods=["POST"]),
                Route("/{phone_number_id}/media", self._upload, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        # uvicorn offers a flag, not an event, for "listening".
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def aclose(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- the messages endpoint -----------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            error = ApiError(190, "Invalid OAuth access token", status=401)
            return JSONResponse(error.body(), status_code=401)
        if request.path_params["phone_number_id"] != self.phone_number_id:
            error = ApiError(100, "Unsupported post request", "Unknown phone number id")
            return JSONResponse(error.body(), status_code=400)
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        body = payload if isinstance(payload, dict) else {}
        kind, to = str(body.get("type", "")), str(body.get("to", ""))
        try:
            self._check(body)
        except ApiError as error:
            self.errors[error.code] += 1
            self.record(
                WhatsAppCall(
                    kind, to, body, ok=False, error=str(error.code), status_code=error.status
                )
            )
            return JSONResponse(error.body(), status_code=error.status)
        wamid = f"wamid.FAKE{next(self._ids):08d}"
        self.record(WhatsAppCall(kind, to, body, wamid=wamid))
        category = "service"
        if kind == "template":
            category = self.template_categories.get(body["template"]["name"], "utility")
        self.billed[category] += 1
        if to in self.fail_later:
            self._failures.append((wamid, to, self.fail_later[to]))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    async def _upload(self, request: Request) -> Response:
        """``POST /{phone_number_id}/media``: a multipart upload of one file."""
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            error = ApiError(190, "Invalid OAuth access token", status=401)
            return JSONResponse(error.body(), status_code=401)
        try:
            if request.path_params["phone_number_id"] != self.phone_number_id:
                raise ApiError(100, "Unsupported post request", "Unknown phone number id")
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                raise ApiError(100, "Invalid parameter", "The upload must be multipart/form-data")
            async with request.form() as form:
                file = form.get("file")
                if form.get("messaging_product") != "whatsapp":
                    raise ApiError(100, "Invalid parameter", "messaging_product must be whatsapp")
                if isinstance(file, str) or file is None:
                    raise ApiError(100, "Invalid parameter", "file is required")
                declared = str(form.get("type") or "")
                content_type = (file.content_type or "").split(";")[0].strip()
                if not declared or declared != content_type:
                    raise ApiError(100, "Invalid parameter", "type must be the file's MIME type")
                kinds = [k for k, (types, _) in MEDIA_TYPES.items() if declared in types]
                if not kinds:
                    raise ApiError(131053, "Media upload error", f"Unsupported type {declared}")
                limit = MEDIA_TYPES[kinds[0]][1]
                data = await file.read()
                if not data or len(data) > limit:
                    raise ApiError(
                        131053, "Media upload error", f"File size {len(data)} over {limit}"
                    )
                filename = file.filename or ""
        except ApiError as error:
            self.errors[error.code] += 1
            self.record(WhatsAppCall("media", "", {}, ok=False, error=str(error.code)))
            return JSONResponse(error.body(), status_code=error.status)
        media_id = f"{next(self._ids):016d}"
        self.media[media_id] = (declared, filename, data)
        self.record(
            WhatsAppCall("media", "", {"type": declared, "filename": filename, "size": len(data)})
        )
        return JSONResponse({"id": media_id})

    def _check_document(self, document: dict[str, Any]) -> None:
        if "link" in document:
            raise _invalid("Only uploaded media (an id) is accepted here")
        found = self.media.get(str(document.get("id", "")))
        if found is None:
            raise ApiError(131053, "Media upload error", "Media id not found")
        if found[0] not in MEDIA_TYPES["document"][0]:
            raise ApiError(131053, "Media upload error", "The media is not a document")
        if "caption" in document:
            _length(document["caption"], 1, 1024, "Caption")
        if "filename" in document:
            _length(document["filename"], 1, 240, "Filename")

    def _check(self, payload: dict[str, Any]) -> None:
        if payload.get("messaging_product") != "whatsapp":
            raise ApiError(100, "Invalid parameter", "messaging_product must be whatsapp")
        to = payload.get("to")
        if not isinstance(to, str) or not to.isdigit():
            raise ApiError(100, "Invalid parameter", "to must be a phone number")
        kind = payload.get("type")
        if kind == "text":
            _length((payload.get("text") or {}).get("body"), 1, 4096, "Text body")
        elif kind == "interactive":
            self._check_interactive(payload.get("interactive") or {})
        elif kind == "document":
            self._check_document(payload.get("document") or {})
        elif kind == "template":
            template = payload.get("template") or {}
            if template.get("name") not in self.templates or not (
                template.get("language") or {}
            ).get("code"):
                raise ApiError(
                    132001, "Template name does not exist in the translation", "Unknown template"
                )
        else:
            raise ApiError(100, "Invalid parameter", f"Unsupported message type {kind!r}")
        self._rate_limits(to)
        if to in self.undeliverable:
            raise ApiError(131026, "Message undeliverable", "Recipient cannot receive messages")
        if kind != "template":
            last = self.last_inbound.get(to)
            if last is None or self.clock() - last >= WINDOW:
                raise ApiError(
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since "
                    "the customer last replied to this number.",
                )

    def _check_interactive(self, interactive: dict[str, Any]) -> None:
        kind = interactive.get("type")
        action = interactive.get("action") or {}
        if kind == "button":
            _length((interactive.get("body") or {}).get("text"), 1, 1024, "Body text")
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= 3:
                raise _invalid("Number of buttons invalid. Min: 1, Max: 3")
            ids = []
            for button in buttons:
                reply = button.get("reply") or {}
                _length(reply.get("title"), 1, 20, "Button title")
                _length(reply.get("id"), 1, 256, "Button id")
                ids.append(reply["id"])
            if len(set(ids)) != len(ids):
                raise _invalid("Button ids must be unique")
        elif kind == "list":
            _length((interactive.get("body") or {}).get("text"), 1, 4096, "Body text")
            _length(action.get("button"), 1, 20, "Button label")
            sections = action.get("sections") or []
            rows = [row for section in sections for row in section.get("rows") or []]
            if not 1 <= len(sections) <= 10 or not 1 <= len(rows) <= 10:
                raise _invalid("Total row count exceed max allowed count: 10")
            for row in rows:
                _length(row.get("title"), 1, 24, "Row title")
                _length(row.get("id"), 1, 200, "Row id")
                if "description" in row:
                    _length(row["description"], 0, 72, "Row description")
        else:
            raise ApiError(100, "Invalid parameter", f"Unsupported interactive type {kind!r}")

    def _rate_limits(self, to: str) -> None:
        now = time.monotonic()
        if self.number_rate is not None:
            sends = self._number_sends
            while sends and now - sends[0] >= 1.0:
                sends.popleft()
            if len(sends) >= self.number_rate:
                raise ApiError(130429, "Rate limit hit", "Cloud API message throughput reached")
            sends.append(now)
        if self.pair_interval is not None:
            # A bucket per member: a burst of ``pair_burst``, then one per interval.
            tokens, updated = self._pair_tokens.get(to, (float(self.pair_burst), now))
            tokens = min(float(self.pair_burst), tokens + (now - updated) / self.pair_interval)
            if tokens < 1:
                self._pair_tokens[to] = (tokens, now)
                raise ApiError(
                    131056,
                    "(Business Account, Consumer Account) pair rate limit hit",
                    "Too many messages sent from this phone number to the same recipient",
                )
            self._pair_tokens[to] = (tokens - 1, now)

    # -- reading what was sent -----------------------------------------------------------

    def sent(self, to: str | None = None) -> list[WhatsAppCall]:
        """Every message accepted so far (to ``to``), in order."""
        return [c for c in self.calls(to=to, ok=True) if isinstance(c, WhatsAppCall)]

    def take(self) -> list[WhatsAppCall]:
        """Accepted messages since the last take (refused ones stay in the log)."""
        out = [c for c in self.log[self._taken :] if c.ok and isinstance(c, WhatsAppCall)]
        self._taken = len(self.log)
        return out

    def forget(self) -> None:
        super().forget()
        self._taken = 0

    async def report_failures(self) -> list[httpx.Response]:
        """Send the ``failed`` statuses of the messages accepted for ``fail_later``."""
        failures, self._failures = self._failures, []
        return [await self.report_status(wamid, to, "failed", code) for wamid, to, code in failures]

    # -- webhooks ------------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    async def post_webhook(
        self, payload: dict[str, Any] | bytes, *, signature: str | None = None
    ) -> httpx.Response:
        """POST a webhook body to Indaba, signed with the app secret unless told otherwise."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "x-hub-signature-256": signature if signature is not None else self.sign(body),
        }
        async with httpx.AsyncClient() as client:
            return await client.post(self.webhook_url, content=body, headers=headers)

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA_ID",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550001111",
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    def _inbound(self, wa_id: str, name: str, message: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        self.last_inbound[wa_id] = now
        message = {
            "from": wa_id,
            "id": f"wamid.IN{next(self._ids):08d}",
            "timestamp": str(int(now.timestamp())),
            **message,
        }
        return self.envelope(
            {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
        )

    async def member_says(
        self, wa_id: str, text: str, *, name: str = "", reply_to: str | None = None
    ) -> httpx.Response:
        message: dict[str, Any] = {"type": "text", "text": {"body": text}}
        if reply_to:
            message["context"] = {"from": "15550001111", "id": reply_to}
        return await self.post_webhook(self._inbound(wa_id, name or wa_id, message))

    async def member_taps(
        self, wa_id: str, message_id: str, choice_id: str, *, title: str = "", name: str = ""
    ) -> httpx.Response:
        """A tap on a reply button or a list row of the message ``message_id``."""
        sent = next((c for c in self.sent() if c.wamid == message_id), None)
        kind = "button_reply"
        if sent is not None and sent.payload["interactive"]["type"] == "list":
            kind = "list_reply"
        message = {
            "type": "interactive",
            "context": {"from": "15550001111", "id": message_id},
            "interactive": {"type": kind, kind: {"id": choice_id, "title": title or choice_id}},
        }
        return await self.post_webhook(self._inbound(wa_id, name or wa_id, message))

    async def member_sends_media(self, wa_id: str, kind: str = "image") -> httpx.Response:
        message = {"type": kind, kind: {"id": "MEDIA_ID", "mime_type": "image/jpeg"}}
        return await self.post_webhook(self._inbound(wa_id, wa_id, message))

    def status_payload(
        self, wamid: str, recipient: str, status: str, error_code: int | None = None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(self.clock().timestamp())),
            "recipient_id": recipient,
        }
        if error_code is not None:
            entry["errors"] = [{"code": error_code, "title": "Message failed"}]
        return self.envelope({"statuses": [entry]})

    async def report_status(
        self, wamid: str, recipient: str, status: str, error_code: int | None = None
    ) -> httpx.Response:
        return await self.post_webhook(self.status_payload(wamid, recipient, status, error_code))

    async def member_taps_template(self, wa_id: str, template_id: str) -> httpx.Response:
        """A tap on the quick-reply button of the re-opening template."""
        message = {
            "type": "button",
            "context": {"from": "15550001111", "id": template_id},
            "button": {"payload": "Show me", "text": "Show me"},
        }
        return await self.post_webhook(self._inbound(wa_id, wa_id, message))
