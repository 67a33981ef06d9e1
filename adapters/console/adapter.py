"""The console adapter: act as any member, in a group or a DM, and move a virtual clock."""

from __future__ import annotations

import asyncio
import secrets
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from starlette.routing import BaseRoute

from adapters.console.durations import parse_duration
from adapters.console.render import render_outgoing, render_speaker
from bot.adapter import (
    AdapterContext,
    Capabilities,
    Control,
    ControlError,
    EventSink,
    MarkupDialect,
)
from bot.messages import (
    CommandInvoked,
    Conversation,
    ConversationKind,
    MemberJoined,
    MessageReceived,
    MessageRef,
    OutgoingMessage,
    Sender,
    parse_command,
)

PLATFORM = "console"

CONSOLE_HELP = """\
Console commands (the console's own; everything else goes to Indaba):
  /as NAME             speak as NAME (a new name is a new person)
  /group [NAME]        speak in the group NAME (default: the last group)
  /dm                  speak in your direct messages with the bot
  /reply N TEXT        reply to the bot's message [N] (like reply-to on a phone)
  /clock               show the virtual clock; /clock +7d, +12h, +30m moves it forward
  /clock YYYY-MM-DD [HH:MM]  jump forward to that time (UTC); each step the jump ran
                       or skipped is listed, and the clock is kept for the next start
  /community new NAME [TIMEZONE] [LANGUAGE]  create a community (prints its codes;
                       later lines may type them as $SETUP_CODE and $JOIN_CODE)
  /status              communities, next meetings, timetable, outbox
  /quit                leave (Ctrl-D works too)"""


class ConsoleAdapter:
    name = PLATFORM
    capabilities = Capabilities(
        buttons=False,
        native_polls=False,
        threads=False,
        reply_to=True,
        ephemeral=False,
        edits=True,
        groups=True,
        max_text_length=100_000,
        markup=MarkupDialect.PLAIN,
    )

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        user: str = "you",
        group: str = "#general",
    ) -> None:
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._interactive = self._in.isatty()
        self._colour = self._out.isatty()
        self._sink: EventSink | None = None
        self._control: Control | None = None
        self._counter = 0
        self._inbound = 0
        # Inbound ids must not repeat across runs on the same database (they are deduplicated).
        self._run_id = secrets.token_hex(4)
        self.user = user
        self.group = group
        self.in_dm = False
        self._lock = asyncio.Lock()
        # The codes of the last community created here, typed back as $SETUP_CODE and
        # $JOIN_CODE (so a scripted session can use codes it cannot know in advance).
        self.codes: dict[str, str] = {}

    # -- the adapter protocol ----------------------------------------------------------

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink

    async def send(self, message: OutgoingMessage) -> MessageRef:
        async with self._lock:
            if message.edit_of:
                message_id = message.edit_of
            else:
                self._counter += 1
                message_id = str(self._counter)
            self._print(render_outgoing(message, message_id, self._colour))
        return MessageRef(PLATFORM, message.address.conversation_id, message_id)

    async def aclose(self) -> None:
        self._out.flush()

    def routes(self) -> Sequence[BaseRoute]:
        return []

    def attach(self, control: Control) -> None:
        self._control = control

    # -- the conversation ---------------------------------------------------------------

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    @property
    def where(self) -> str:
        return "DM" if self.in_dm else self.group

    def _prompt(self) -> str:
        return f"{self.user} @ {self.where}> "

    async def _readline(self) -> str | None:
        if self._interactive:
            self._out.write(self._prompt())
            self._out.flush()
        line = await asyncio.to_thread(self._in.readline)
        return None if line == "" else line.rstrip("\n")

    async def run_until_done(self) -> None:
        assert self._control is not None, "attach() a control first"
        self._print(f"Indaba console. You are {self.user} in {self.where}. Type /help.")
        while True:
            line = await self._readline()
            if line is None:
                break
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#") and not self._interactive:
                self._print(stripped)
                continue
            if not self._interactive:
                self._print(render_speaker(self.user, self.where, stripped, self._colour))
            try:
                if await self.on_line(stripped) is False:
                    break
            except Exception as error:  # keep the console alive on any error
                self._print(f"  ! {type(error).__name__}: {error}")
            await self._control.settle()

    async def on_line(self, line: str) -> bool:
        """Handle one typed line; False ends the session."""
        assert self._control is not None
        for name, code in self.codes.items():
            line = line.replace(f"${name}", code)
        parsed = parse_command(line)
        if parsed is None:
            await self._say(line)
            return True
        name, args = parsed
        local = {
            "as": self._as,
            "group": self._group,
            "dm": self._dm,
            "clock": self._clock,
            "community": self._community,
            "status": self._status,
            "reply": self._reply,
        }
        if name in ("quit", "exit"):
            return False
        if name in local:
            await local[name](args)
            return True
        if name == "help" and not args:
            self._print(CONSOLE_HELP)
        await self._emit_command(name, args)
        return True

    # -- local commands ----------------------------------------------------------------

    async def _as(self, args: str) -> None:
        name = args.strip()
        if not name:
            self._print("  usage: /as NAME")
            return
        self.user = name.split()[0].lower()
        self._print(f"  (you are now {self.user}, in {self.where})")

    async def _group(self, args: str) -> None:
        name = args.strip()
        if name:
            self.group = name if name.startswith("#") else f"#{name}"
        self.in_dm = False
        self._print(f"  (you are in {self.group})")
        assert self._sink is not None
        await self._sink(MemberJoined(self._conversation(), self._sender(), None))

    async def _dm(self, args: str) -> None:
        self.in_dm = True
        self._print("  (you are in your direct messages with the bot)")

    async def _clock(self, args: str) -> None:
        assert self._control is not None
        spec = args.strip()
        if not spec:
            self._print(f"  clock: {self._control.now():%a %d %b %Y %H:%M} UTC")
            return
        try:
            if spec[0].isdigit() and "-" in spec:
                when = datetime.fromisoformat(spec.replace(" ", "T")).replace(tzinfo=UTC)
                delta = when - self._control.now()
                if delta.total_seconds() < 0:
                    self._print("  the clock only moves forward")
                    return
            else:
                delta = parse_duration(spec)
        except ValueError as error:
            self._print(f"  {error}")
            return
        self._print(f"  ⏩ moving the clock forward {delta} …")
        before = self._control.now()
        now = await self._control.advance(delta)
        # What the jump played out, so nothing is skipped without a word (settled first:
        # a replica not yet leading the timetable leaves the due steps to this).
        await self._control.settle()
        for line in await self._control.ran_since(before):
            self._print(f"  ⏱ {line}")
        self._print(f"  clock: {now:%a %d %b %Y %H:%M} UTC")

    async def _community(self, args: str) -> None:
        assert self._control is not None
        try:
            words = shlex.split(args)
        except ValueError as error:
            self._print(f"  {error}")
            return
        if len(words) < 2 or words[0] != "new":
            self._print('  usage: /community new "NAME" [TIMEZONE] [LANGUAGE]')
            return
        timezone = words[2] if len(words) > 2 else "UTC"
        language = words[3] if len(words) > 3 else "en"
        try:
            setup, join = await self._control.create_community(words[1], timezone, language)
        except ControlError as error:
            self._print(f"  cannot create it: {error.message or error.key}")
            return
        self.codes = {"SETUP_CODE": setup, "JOIN_CODE": join}
        self._print(
            f"  community {words[1]!r} created ({timezone}).\n"
            f"  facilitator code (one use): {setup}   → type /setup {setup} in its group\n"
            f"  member join code: {join}   → members send /join {join} to the bot"
        )

    async def _status(self, args: str) -> None:
        assert self._control is not None
        self._print("\n".join("  " + line for line in (await self._control.describe()).split("\n")))

    async def _reply(self, args: str) -> None:
        number, _, text = args.strip().partition(" ")
        if not number.isdigit() or not text.strip():
            self._print("  usage: /reply N TEXT")
            return
        await self._say(text.strip(), reply_to=number)

    # -- events ------------------------------------------------------------------------

    def _sender(self) -> Sender:
        return Sender(PLATFORM, self.user, self.user.capitalize())

    def _conversation(self) -> Conversation:
        if self.in_dm:
            return Conversation(PLATFORM, self.user, ConversationKind.DM, f"DM {self.user}")
        return Conversation(PLATFORM, self.group, ConversationKind.GROUP, self.group)

    def _next_id(self) -> str:
        self._inbound += 1
        return f"u{self._run_id}-{self._inbound}"

    async def _say(self, text: str, reply_to: str | None = None) -> None:
        assert self._sink is not None
        await self._sink(
            MessageReceived(
                self._conversation(),
                self._sender(),
                self._next_id(),
                text=text,
                reply_to_id=reply_to,
            )
        )

    async def _emit_command(self, name: str, args: str) -> None:
        assert self._sink is not None
        await self._sink(
            CommandInvoked(
                self._conversation(), self._sender(), self._next_id(), command=name, args=args
            )
        )
