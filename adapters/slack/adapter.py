"""The Slack adapter: slack-bolt's AsyncApp in, the Web API out.

Inbound requests (slash commands, button presses, events) are verified by bolt
(signature and timestamp), acknowledged at once, then normalised and handed to the
engine: Slack's three seconds are never spent on Indaba's work. In HTTP mode they
arrive on ``POST /slack/events`` of Indaba's one server; with an app-level token they
come over Socket Mode instead and no public URL is needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.slack.client import Pacing, SlackClient
from adapters.slack.normalise import PLATFORM, actor, normalise
from adapters.slack.render import ACTION_PREFIX
from adapters.slack.settings import SlackSettings
from bot.adapter import (
    AdapterContext,
    Capabilities,
    CommandInfo,
    EventSink,
    MarkupDialect,
    StartupError,
)
from bot.messages import InboundEvent, MessageRef, OutgoingMessage, Sender

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
EVENT_TYPES = ("message", "app_mention", "member_joined_channel")

Ack = Callable[..., Awaitable[Any]]


class SlackAdapter:
    name = PLATFORM
    capabilities = Capabilities(
        buttons=True,
        max_buttons=25,
        threads=True,
        reply_to=True,
        ephemeral=True,
        edits=True,
        groups=True,
        max_text_length=3000,
        markup=MarkupDialect.SLACK_MRKDWN,
    )

    def __init__(self, settings: SlackSettings, *, pacing: Pacing | None = None) -> None:
        self.settings = settings
        self.web = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url)
        self.client = SlackClient(self.web, pacing)
        self.app: AsyncApp | None = None
        self.bot_user_id: str | None = None
        self._http: AsyncSlackRequestHandler | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._sink: EventSink | None = None
        self._commands: tuple[CommandInfo, ...] = ()
        self._verifier = SignatureVerifier(settings.signing_secret or "-")
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- the adapter protocol ---------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink
        self._commands = context.commands
        try:
            identity = await self.web.auth_test()
        except SlackApiError as error:
            reason = error.response.get("error") or error.response.status_code
            raise StartupError(f"Slack refused INDABA_SLACK_BOT_TOKEN: {reason}") from None
        except Exception as error:
            raise StartupError(
                f"cannot reach Slack at {self.settings.api_url}: {type(error).__name__}"
            ) from None
        self.bot_user_id = str(identity.get("user_id") or "") or None
        self.app = self._build_app()
        if self.settings.socket_mode:
            self._socket = AsyncSocketModeHandler(self.app, self.settings.app_token)
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]  # untyped in slack_bolt
            except SlackApiError as error:
                reason = error.response.get("error") or error.response.status_code
                raise StartupError(f"Slack refused INDABA_SLACK_APP_TOKEN: {reason}") from None
        else:
            self._http = AsyncSlackRequestHandler(self.app)

    async def send(self, message: OutgoingMessage) -> MessageRef:
        return await self.client.send(message)

    async def aclose(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]  # untyped in slack_bolt
            self._socket = None
        self._sink = None

    def routes(self) -> Sequence[BaseRoute]:
        if self.settings.socket_mode:
            return []
        return [Route(EVENTS_PATH, self._endpoint, methods=["POST"])]

    async def idle(self) -> None:
        """Wait until every acknowledged request has been handed to the engine."""
        await self._idle.wait()

    # -- bolt ---------------------------------------------------------------------------------

    def _build_app(self) -> AsyncApp:
        app = AsyncApp(
            client=self.web,
            signing_secret=self.settings.signing_secret or None,
            request_verification_enabled=bool(self.settings.signing_secret),
            process_before_response=False,
        )
        for command in self._commands:
            app.command(f"/{command.name}")(self._on_request)
        app.action(re.compile(f"^{ACTION_PREFIX}:"))(self._on_request)
        for event_type in EVENT_TYPES:
            app.event(event_type)(self._on_request)
        return app

    async def _on_request(self, ack: Ack, body: dict[str, Any]) -> None:
        """Ack first (Slack waits three seconds at most), then the engine's work."""
        self._in_flight += 1
        self._idle.clear()
        try:
            await ack()
            await self._handle(body)
        except Exception:
            log.exception("failed to handle a Slack %s", body.get("type") or "command")
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle(self, body: dict[str, Any]) -> None:
        user_id = actor(body)
        if not user_id or user_id == self.bot_user_id or self._sink is None:
            return
        event: InboundEvent | None = normalise(body, Sender(PLATFORM, user_id, user_id))
        if event is None:
            return
        profile = await self.client.profile(user_id)
        if profile.is_bot:
            return
        sender = Sender(PLATFORM, user_id, profile.display_name, timezone=profile.timezone)
        await self._sink(dataclasses.replace(event, sender=sender))

    async def _endpoint(self, request: Request) -> Response:
        assert self._http is not None, "start() the adapter first"
        try:
            response = await self._http.handle(request)
        except ValueError:
            # The body is not the JSON or form it should be: bolt cannot even parse it.
            body = await request.body()
            if not self._verifier.is_valid_request(body, dict(request.headers)):
                log.warning("rejected an unsigned or badly signed Slack request")
                return Response("invalid request", status_code=401)
            return Response("malformed body", status_code=400)
        if response.status_code == 404:
            # An event type Indaba does not handle: acknowledged so Slack stops retrying.
            return Response(status_code=200)
        return response
