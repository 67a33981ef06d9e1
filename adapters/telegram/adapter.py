"""The Telegram adapter: the webhook route or a long-polling loop for updates, and
:class:`TelegramClient` for everything sent.

Inbound, both ways end alike: an update is normalised and each of its events is
awaited on the sink before Telegram is answered (the webhook's 200) or the update is
confirmed (the next ``getUpdates`` offset), so nothing acknowledged can be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

from starlette.routing import BaseRoute
from telegram import Bot, Message, Update
from telegram.error import InvalidToken, TelegramError

from adapters.telegram.client import (
    MAX_BUTTONS,
    MAX_POLL_OPTIONS,
    Limits,
    TelegramClient,
    redact_logs,
)
from adapters.telegram.normalise import ALLOWED_UPDATES, PLATFORM, normalise, pressed_query
from adapters.telegram.render import MAX_TEXT, note, toast
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.webhook import Webhook
from bot.adapter import AdapterContext, Capabilities, CommandInfo, EventSink, MarkupDialect
from bot.messages import (
    Conversation,
    ConversationChanged,
    ConversationKind,
    InboundEvent,
    MessageRef,
    OutgoingMessage,
    Sender,
)
from bot.pacing import SharedBudget

log = logging.getLogger(__name__)

__all__ = ["PLATFORM", "TelegramAdapter"]

# How long polling waits after a failed getUpdates or a sink that refused an event.
POLL_BACKOFF = 2.0
# How long a button press waits for Indaba's answer (its toast) before it is answered
# with the button's label, so the member's spinner never hangs.
PRESS_NOTE_WAIT = 3.0


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
        press_notes=True,
    )

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        limits: Limits | None = None,
        poll_timeout: float = 10.0,
        press_note_wait: float = PRESS_NOTE_WAIT,
    ) -> None:
        self.settings = settings
        self._commands: tuple[CommandInfo, ...] = ()
        self._limits = limits
        self._poll_timeout = poll_timeout
        self._press_note_wait = press_note_wait
        # Presses not answered yet: callback query id -> the label fallback's timer.
        self._unanswered: dict[str, asyncio.Task[None]] = {}
        self._sink: EventSink | None = None
        self._client: TelegramClient | None = None
        self._poller: asyncio.Task[None] | None = None
        # Replicas: one process polls, chosen by the wiring (start_polling/stop_polling).
        self._polling_driven = False
        self._budget: SharedBudget | None = None
        self._webhook = Webhook(
            lambda: self.settings.secret,
            lambda: self._client.bot if self._client is not None else None,
            self._normalise,
            self._accept,
            settings.body_limit,
        )
        self._progress = asyncio.Condition()
        self._in_flight = 0
        self.last_update_id = 0

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.webhook_url)

    @property
    def polls(self) -> bool:
        """Whether updates come by long polling (only one process may poll a token)."""
        return not self.webhook_mode

    def drive_polling(self) -> None:
        """Poll only between :meth:`start_polling` and :meth:`stop_polling` (the wiring
        calls them on the process that leads the polling), not from ``start`` on."""
        self._polling_driven = True

    def share_budget(self, budget: SharedBudget) -> None:
        """Count Telegram's limits with every process sending with this token."""
        self._budget = budget
        if self._client is not None:
            self._client.share_budget(budget)

    @property
    def username(self) -> str:
        return self._client.username if self._client is not None else ""

    @property
    def bot(self) -> Bot:
        assert self._client is not None, "start() the adapter first"
        return self._client.bot

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink
        self._commands = context.commands
        redact_logs([self.settings.token, self.settings.secret])
        client = TelegramClient.connect(
            self.settings.token, self.settings.api_url, self._limits, on_moved=self._moved
        )
        await client.initialize(self.settings.api_url)
        client.share_budget(self._budget)
        self._client = client
        await client.set_up(
            self.bot_commands(),
            ALLOWED_UPDATES,
            webhook_url=self.settings.webhook_url,
            secret=self.settings.secret,
        )
        if self.polls and not self._polling_driven:
            await self.start_polling()
        log.info(
            "telegram: @%s started (%s)",
            client.username,
            "webhook" if self.webhook_mode else "polling",
        )

    def bot_commands(self) -> list[tuple[str, str, bool]]:
        """(name, description, offered in groups) for each command Telegram can list."""
        return [
            (info.name.lower(), (info.summary or info.usage or info.name)[:256], info.group)
            for info in sorted(self._commands, key=lambda c: c.name)
            if not info.hidden and info.name.isidentifier() and len(info.name) <= 32
        ]

    async def aclose(self) -> None:
        for waiting in self._unanswered.values():
            waiting.cancel()
        self._unanswered.clear()
        await self.stop_polling()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def start_polling(self) -> None:
        if self._poller is None and self._client is not None and self.polls:
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: this process polls for updates")

    async def stop_polling(self) -> None:
        """Stop polling; an update being stored is fetched again by the next poller
        (its key makes the second copy a no-op)."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller

    def routes(self) -> Sequence[BaseRoute]:
        return [self._webhook.route()]

    # -- inbound ---------------------------------------------------------------------------

    def _normalise(self, update: Update) -> list[InboundEvent]:
        return normalise(update, self.username)

    async def _accept(self, update: Update, events: list[InboundEvent]) -> None:
        """Every event of ``update`` on the sink (awaited); a press then waits for
        Indaba's answer (:meth:`send`), the button's label after a while."""
        assert self._sink is not None
        async with self._progress:
            self._in_flight += 1
        try:
            for event in events:
                await self._sink(event)
            query = update.callback_query
            if query is not None and self._client is not None:
                self._await_note(query.id, toast(_pressed(query.message, query.data)))
        finally:
            async with self._progress:
                self._in_flight -= 1
                self.last_update_id = max(self.last_update_id, update.update_id)
                self._progress.notify_all()

    async def _poll(self) -> None:
        """Long polling: an update is confirmed (the next offset) only once its events
        are stored, so a refused event is fetched again."""
        assert self._client is not None
        offset = 0
        while True:
            try:
                updates = await self._client.get_updates(
                    offset, self._poll_timeout, ALLOWED_UPDATES
                )
            except InvalidToken:
                log.error("telegram refused the bot token; polling waits until it is replaced")
                await asyncio.sleep(POLL_BACKOFF * 5)
                continue
            except TelegramError as error:
                log.warning("telegram: getUpdates failed (%s); trying again", error.message)
                await asyncio.sleep(POLL_BACKOFF)
                continue
            for update_id, update in updates:
                try:
                    if update is not None:
                        await self._accept(update, self._normalise_or_skip(update))
                except Exception:
                    log.exception("telegram: could not store update %s", update_id)
                    await asyncio.sleep(POLL_BACKOFF)
                    break
                offset = update_id + 1
                if update is None:
                    await self._mark_seen(update_id)

    async def _mark_seen(self, update_id: int) -> None:
        async with self._progress:
            self.last_update_id = max(self.last_update_id, update_id)
            self._progress.notify_all()

    def _normalise_or_skip(self, update: Update) -> list[InboundEvent]:
        try:
            return self._normalise(update)
        except Exception as error:  # a shape the normaliser cannot read: skip it
            log.warning("telegram: skipped malformed update %s (%s)", update.update_id, error)
            return []

    async def _moved(self, old_chat_id: str, new_chat_id: str) -> None:
        """A send found the group upgraded to a supergroup: tell the engine at once."""
        assert self._sink is not None and self._client is not None
        client = self._client
        await self._sink(
            ConversationChanged(
                Conversation(
                    PLATFORM, new_chat_id, ConversationKind.GROUP, previous_id=old_chat_id
                ),
                Sender(PLATFORM, str(client.user_id), client.username),
                f"migrate:{old_chat_id}:{new_chat_id}",
            )
        )

    def _await_note(self, query_id: str, fallback: str) -> None:
        earlier = self._unanswered.pop(query_id, None)
        if earlier is not None:  # the same press delivered again
            earlier.cancel()
        self._unanswered[query_id] = asyncio.create_task(
            self._answer_later(query_id, fallback), name=f"telegram-press-{query_id}"
        )

    async def _answer_later(self, query_id: str, fallback: str) -> None:
        await asyncio.sleep(self._press_note_wait)
        if self._unanswered.get(query_id) is asyncio.current_task():
            del self._unanswered[query_id]
        if self._client is not None:
            await self._client.answer_callback(query_id, fallback)

    async def wait_processed(self, update_id: int) -> None:
        """Wait until the update ``update_id`` (and those before it) is on the sink."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.last_update_id >= update_id)

    async def idle(self) -> None:
        """Wait until no update is being handed to the sink."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._in_flight == 0)

    # -- outbound --------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        assert self._client is not None, "start() the adapter first"
        query_id = pressed_query(message.reply_to)
        if query_id is not None:
            return await self._answer_press(query_id, message)
        return await self._client.send(message)

    async def _answer_press(self, query_id: str, message: OutgoingMessage) -> MessageRef:
        """Indaba's answer to a press is the press's toast. When Telegram no longer
        takes one (this press was answered with its label already, or is too old), a
        private chat gets it as a message; a group is not told one member's result."""
        assert self._client is not None
        waiting = self._unanswered.pop(query_id, None)
        if waiting is not None:
            waiting.cancel()
        conversation_id = message.address.conversation_id
        if await self._client.answer_callback(query_id, note(message.text)):
            return MessageRef(PLATFORM, conversation_id, message.reply_to or "")
        if message.address.kind is ConversationKind.DM:
            return await self._client.send(replace(message, reply_to=None))
        log.info("telegram: a press in a group was answered late; its note is dropped")
        return MessageRef(PLATFORM, conversation_id, message.reply_to or "")


def _pressed(message: object, data: str | None) -> str:
    """The label of the button a member pressed, read from the message's keyboard."""
    if isinstance(message, Message) and message.reply_markup is not None:
        for row in message.reply_markup.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    return button.text
    return ""
