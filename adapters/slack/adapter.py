"""The Slack adapter: requests in (HTTP or Socket Mode), the Web API out.

Every request — a slash command, a button press, a form submission, an event — goes
the same way: verified (HTTP: :mod:`adapters.slack.webhook`; Socket Mode: Slack's own
authenticated WebSocket, :mod:`adapters.slack.socket_mode`), dispatched by one
slack-bolt app (:mod:`adapters.slack.listeners`) to a listener that normalises it and
hands its events to the engine's sink, and only then acknowledged. The sink stores
them durably and returns at once, so Slack's three seconds are kept without
acknowledging anything the engine has not got; if the sink fails the request is
answered 503 (Socket Mode: left unacknowledged) and Slack sends it again. The engine's
answers come afterwards, through the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import BaseRoute, Route

from adapters.slack.client import Pacing, SlackClient
from adapters.slack.listeners import Answer, Unavailable, build_app
from adapters.slack.normalise import (
    FIELD_ERRORS,
    NORMALISERS,
    actor,
    normalise,
    payload_kind,
    text,
)
from adapters.slack.render import CommandStyle, Say, form_view, render
from adapters.slack.settings import SlackSettings
from adapters.slack.socket_mode import SocketMode
from adapters.slack.webhook import SlackWebhook, Verifier
from bot.adapter import (
    AdapterContext,
    Capabilities,
    DeliveryError,
    EventSink,
    MarkupDialect,
    StartupError,
    TextSource,
)
from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    ConversationKind,
    InboundEvent,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    MessageRef,
    OutgoingMessage,
    Sender,
)

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
TYPED_IN_KEPT = 10_000
# The engine's answers to a command carry no link to it: the first DM message to a member
# this soon after a command they typed in someone else's DM is its answer (answers are
# delivered in seconds), and is shown there; the rest go to Indaba's DM as usual.
ANSWER_WINDOW_SECONDS = 15.0
# Commands that set off DMs of their own (the next question, a welcome and its questions):
# answered in Indaba's DM, where the member answers those, so nothing is sent elsewhere.
SETS_OFF_DMS = frozenset({"answer", "join", "start", "setup", "stop", "undo", "questions"})
# A profile lookup that takes longer than this is skipped: the answer must go out.
PROFILE_WAIT_SECONDS = 1.0


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
        home_tab=True,
    )

    def __init__(self, settings: SlackSettings, *, pacing: Pacing | None = None) -> None:
        self.settings = settings
        self.web = AsyncWebClient(
            token=settings.bot_token.get_secret_value(), base_url=settings.api_url
        )
        self.client = SlackClient(self.web, PLATFORM, pacing)
        self.bot_user_id: str | None = None
        self.app = build_app(self.web, settings.signing_secret, self.receive)
        self.webhook = SlackWebhook(
            Verifier(settings.signing_secret), self.app, settings.max_body_bytes
        )
        self._socket: SocketMode | None = None
        self._sink: EventSink | None = None
        self._texts: TextSource | None = None
        # Members whose Home tab is worth keeping current: they opened it, or joined.
        self._home_seen: set[str] = set()
        # The DM channel each member last typed a command in (theirs with Indaba or not),
        # and when.
        self._typed_in: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._style = CommandStyle(settings.command)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- the adapter protocol ---------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink
        self._texts = context.texts
        self._style = CommandStyle.of(self.settings.command, (c.name for c in context.commands))
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
        self.client.list_dms()
        if self.settings.socket_mode:
            self._socket = SocketMode(
                self.app, self.settings.app_token.get_secret_value(), web_client=self.web
            )
            try:
                await self._socket.connect_async()  # type: ignore[no-untyped-call]  # untyped in bolt
            except SlackApiError as error:
                reason = error.response.get("error") or error.response.status_code
                raise StartupError(f"Slack refused INDABA_SLACK_APP_TOKEN: {reason}") from None

    async def send(self, message: OutgoingMessage) -> MessageRef:
        shown = dataclasses.replace(message, text=self._style.rewrite(message.text))
        address = shown.address
        typed = self._typed_in.get(address.conversation_id)
        if (
            address.kind is ConversationKind.DM
            and not address.ephemeral_to
            and typed is not None
            and time.monotonic() - typed[1] < ANSWER_WINDOW_SECONDS
        ):
            ref = await self._where_typed(typed[0], address.conversation_id, shown)
            if ref is not None:
                return ref
        return await self.client.send(shown)

    async def _where_typed(
        self, channel: str, user: str, message: OutgoingMessage
    ) -> MessageRef | None:
        """The answer to a command typed in a DM that is not Indaba's (between two
        people): shown there, only to the member, through the command's response_url.
        What cannot be shown so — a file, buttons, more than one message — goes to
        Indaba's DM, and a short note where the command was typed says so.

        Only the first message after the command is its answer: what the command set
        off next (the next question after ``/indaba answer``, a welcome's questions) is
        for Indaba's DM, where the member answers it."""
        self._typed_in.pop(user, None)
        if channel == await self.client.open_dm(user):
            return None  # typed in Indaba's own DM: answered there as a message
        if message.attachment is None and not message.choices and len(render(message)) == 1:
            return await self.client.reply_where_typed(channel, user, message)
        ref = await self.client.send(message)
        say = await self._say(user)
        await self.client.reply_where_typed(
            channel, user, OutgoingMessage(message.address, say("slack.sent_to_dm"))
        )
        return ref

    async def aclose(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]  # untyped in bolt
            self._socket = None
        await self.client.aclose()
        self._sink = None

    def routes(self) -> Sequence[BaseRoute]:
        if self.settings.socket_mode:
            return []
        return [Route(EVENTS_PATH, self.webhook.endpoint, methods=["POST"])]

    async def idle(self) -> None:
        """Wait until every request received so far has been handed to the engine."""
        await self._idle.wait()

    wait_processed = idle

    # -- one request, either transport --------------------------------------------------------

    async def receive(self, body: Mapping[str, Any]) -> Answer:
        """Handle one verified payload: its events reach the sink before the answer."""
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._receive(body)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _receive(self, body: Mapping[str, Any]) -> Answer:
        kind = payload_kind(body)
        user = actor(body)
        if kind not in NORMALISERS or not user or user == self.bot_user_id:
            return Answer()
        sink = self._sink
        if sink is None:
            raise Unavailable
        profile = await self._profile(user)
        if profile is None:
            return Answer()
        result = normalise(body, profile, self.settings.command)
        if result.reply_url is not None:
            self.client.reply_urls.remember(result.reply_url)
            if kind == "command" and any(
                isinstance(e, CommandInvoked)
                and e.conversation.kind is ConversationKind.DM
                and e.command not in SETS_OFF_DMS
                for e in result.events
            ):
                self._typed_in[user] = (result.reply_url.channel_id, time.monotonic())
                self._typed_in.move_to_end(user)
                while len(self._typed_in) > TYPED_IN_KEPT:
                    self._typed_in.popitem(last=False)
        event = body.get("event")
        if isinstance(event, Mapping) and event.get("channel_type") == "im":
            self.client.saw_dm(user, text(event.get("channel"), "event.channel"))
        if result.form is not None:
            view = form_view(result.form.form, result.form.metadata, await self._say(user))
            try:
                await self.client.open_form(result.form.trigger_id, view)
            except DeliveryError as error:
                log.warning("slack: could not open the %s form: %s", result.form.form, error)
        refresh = self._home_refresh(user, result.events)
        for item in (*result.events, *((refresh,) if refresh is not None else ())):
            try:
                await sink(item)
            except Exception as error:
                log.error("slack: the engine did not take a %s: %s", kind, error)
                raise Unavailable from None
        if result.field_errors:
            say = await self._say(user)
            errors = {
                name: say(FIELD_ERRORS[error][0], **FIELD_ERRORS[error][1])
                for name, error in result.field_errors.items()
            }
            return Answer(body={"response_action": "errors", "errors": errors})
        return Answer()

    def _home_refresh(self, user: str, events: tuple[InboundEvent, ...]) -> CommandInvoked | None:
        """A request for the member's Home tab after something that may change what it
        shows (an answer, a vote, a command such as /lang, joining the channel), for a
        member who has opened it (joining publishes it first). It follows the event in
        the same conversation, so the engine handles it after it."""
        trigger: InboundEvent | None = None
        for event in events:
            if isinstance(event, CommandInvoked) and event.command == "home":
                self._home_seen.add(user)
                return None
            if isinstance(event, (CommandInvoked, ChoiceSelected, MessageEdited, MemberJoined)) or (
                isinstance(event, MessageReceived)
                and event.conversation.kind is ConversationKind.DM
            ):
                trigger = event
        if trigger is None or not trigger.message_id:
            return None
        if isinstance(trigger, MemberJoined):
            self._home_seen.add(user)
        elif user not in self._home_seen:
            return None
        return CommandInvoked(
            trigger.conversation,
            trigger.sender,
            f"home-after:{trigger.message_id}",
            raw=None,
            command="home",
        )

    async def _say(self, user_id: str) -> Say:
        """The texts of prompts/ in the member's language (their keys, without texts)."""
        texts = self._texts
        if texts is None:
            return lambda key, **values: key
        try:
            language = await asyncio.wait_for(
                texts.language_of(PLATFORM, user_id), PROFILE_WAIT_SECONDS
            )
        except TimeoutError:
            language = "en"
        return lambda key, **values: texts.render(key, language, **values)

    async def _profile(self, user_id: str) -> Sender | None:
        """The acting member as a sender (None for a bot); the id as the name if
        ``users.info`` is slow."""
        try:
            profile = await asyncio.wait_for(self.client.profile(user_id), PROFILE_WAIT_SECONDS)
        except TimeoutError:
            return Sender(PLATFORM, user_id, user_id)
        if profile.is_bot:
            return None
        return Sender(PLATFORM, user_id, profile.display_name, timezone=profile.timezone)
