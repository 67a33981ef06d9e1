"""The Telegram adapter: PTB's ``Application`` for updates, :class:`TelegramSender` for sends."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from adapters.telegram.client import MAX_BUTTONS, MAX_POLL_OPTIONS, Limits, TelegramSender
from adapters.telegram.normalise import ALLOWED_UPDATES, PLATFORM, normalise
from adapters.telegram.render import MAX_TEXT
from adapters.telegram.settings import TelegramSettings
from bot.adapter import (
    AdapterContext,
    Capabilities,
    CommandInfo,
    EventSink,
    MarkupDialect,
    StartupError,
)
from bot.messages import MessageRef, OutgoingMessage

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
# Commands a member would look for in the "/" menu of a group (the rest work too).


class TelegramAdapter:
    name = PLATFORM
    capabilities = Capabilities(
        buttons=True,
        max_buttons=MAX_BUTTONS,
        native_polls=True,
        max_poll_options=MAX_POLL_OPTIONS,
        threads=False,
        reply_to=True,
        ephemeral=False,
        edits=True,
        groups=True,
        max_text_length=MAX_TEXT,
        markup=MarkupDialect.TELEGRAM_HTML,
    )

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        limits: Limits | None = None,
        poll_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self._commands: tuple[CommandInfo, ...] = ()
        self._limits = limits
        self._poll_timeout = poll_timeout
        self._sink: EventSink | None = None
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._sender: TelegramSender | None = None
        self._username = ""
        # Update ids seen lately: a re-delivered button press must not toggle twice.
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._processed = asyncio.Condition()
        self.last_update_id = 0

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.webhook_url)

    @property
    def username(self) -> str:
        return self._username

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink
        self._commands = context.commands
        root = self.settings.api_url
        app = (
            ApplicationBuilder()
            .token(self.settings.bot_token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .get_updates_read_timeout(self._poll_timeout + 10)
            .build()
        )
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        try:
            await app.initialize()
        except InvalidToken as error:
            raise StartupError(
                f"INDABA_TELEGRAM_BOT_TOKEN was refused by Telegram: {error.message}"
            ) from None
        except TelegramError as error:
            raise StartupError(
                f"cannot reach the Telegram Bot API at {root}: {error.message}"
            ) from None
        self._app = app
        self._username = app.bot.username
        self._sender = TelegramSender(app.bot, self._limits)
        try:
            await self._register_commands()
            if self.webhook_mode:
                await app.bot.set_webhook(
                    self.settings.webhook_url,
                    secret_token=self.settings.webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                assert app.updater is not None
                await app.updater.start_polling(
                    timeout=int(self._poll_timeout), allowed_updates=ALLOWED_UPDATES
                )
            await app.start()
        except TelegramError as error:
            raise StartupError(f"Telegram refused the bot's set-up: {error.message}") from None
        log.info(
            "telegram: @%s started (%s)",
            self._username,
            "webhook" if self.webhook_mode else "polling",
        )

    async def _register_commands(self) -> None:
        """``setMyCommands`` for groups and private chats, so "/" lists them."""
        assert self._app is not None
        private = [BotCommand(name, text) for name, text, _ in self.bot_commands()]
        group = [BotCommand(name, text) for name, text, in_group in self.bot_commands() if in_group]
        await self._app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
        await self._app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())

    def bot_commands(self) -> list[tuple[str, str, bool]]:
        """(name, description, offered in groups) for each command Telegram can list."""
        return [
            (info.name.lower(), (info.summary or info.usage or info.name)[:256], info.group)
            for info in sorted(self._commands, key=lambda c: c.name)
            if not info.hidden and info.name.isidentifier() and len(info.name) <= 32
        ]

    async def aclose(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()

    # -- inbound ---------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._handle(update)
        finally:
            async with self._processed:
                self.last_update_id = max(self.last_update_id, update.update_id)
                self._processed.notify_all()

    async def _handle(self, update: Update) -> None:
        if update.update_id in self._seen:
            return
        self._seen[update.update_id] = None
        if len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        assert self._sink is not None
        for event in normalise(update, self._username):
            await self._sink(event)
        if update.callback_query is not None and self._app is not None:
            # Stops the spinner on the member's button; nothing to show them.
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)

    async def wait_processed(self, update_id: int) -> None:
        """Wait until the update ``update_id`` (and those before it) has been handled."""
        async with self._processed:
            await self._processed.wait_for(lambda: self.last_update_id >= update_id)

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        expected = self.settings.webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if not self.webhook_mode or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("telegram webhook: refused a request without the right secret token")
            return JSONResponse({"ok": False}, status_code=403)
        app = self._app
        if app is None:
            return JSONResponse({"ok": False, "error": "not started"}, status_code=503)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, app.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("telegram webhook: malformed update (%s)", type(error).__name__)
            return JSONResponse({"ok": False, "error": "malformed update"}, status_code=400)
        await app.update_queue.put(update)
        return JSONResponse({"ok": True})

    # -- outbound --------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        assert self._sender is not None, "start() the adapter first"
        return await self._sender.send(message)
