"""The engine: takes neutral inbound events and decides what Indaba does.

Each event is handled in one database transaction: what it changes and the messages
it writes to the outbox are committed together, or not at all.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import CommandInfo
from bot.engine.commands import filing, numbers
from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Awaiting, AwaitingProbe, ChoiceHandler, Registry
from bot.engine.services import directory, onboarding
from bot.engine.services.links import Links
from bot.engine.services.messenger import Messenger
from bot.engine.services.questions import QuestionService
from bot.engine.services.reachability import Reachability
from bot.engine.texts import Texts
from bot.engine.turn import Turn
from bot.messages import (
    ChoiceSelected,
    CommandInvoked,
    ConversationChanged,
    ConversationKind,
    DeliveryStatus,
    InboundEvent,
    MemberJoined,
    MessageEdited,
    MessageReceived,
    parse_command,
)
from bot.runtime.clock import Clock
from bot.runtime.metrics import Metrics
from bot.runtime.outbox import Outbox
from storage.models import Community, Member, OutboxMessage
from storage.statuses import ContextKind

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4000


def event_key(event: InboundEvent) -> str | None:
    """The key a platform's re-delivery of ``event`` repeats; None when it has none.

    A button press is keyed by its press id (a re-delivered press would toggle back).
    An edit is keyed by a digest of its text (each new text is a new event); the digest
    is stable across processes and restarts, unlike Python's ``hash()``.
    """
    # A whole selection (a poll answer) may be reported again with a change; a press
    # toggles, so a second delivery of the same press must count once.
    if event.message_id is None or (isinstance(event, ChoiceSelected) and not event.toggle):
        return None
    suffix = ""
    if isinstance(event, MessageEdited):
        suffix = f":{hashlib.sha256(event.text.encode()).hexdigest()[:16]}"
    elif isinstance(event, DeliveryStatus):
        suffix = f":{event.status}"
    kind = type(event).__name__
    return f"{event.platform}:{kind}:{event.conversation.id}:{event.message_id}{suffix}"[:300]


@dataclass(slots=True)
class Engine:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    texts: Texts
    outbox: Outbox
    metrics: Metrics
    platforms: list[str]
    registry: Registry
    join_code_days: int = 30
    # Signs the meeting pack's links; None where no web pages are served (admin tools).
    links: Links | None = None
    # Acts on a ``failed`` status as on the same refusal at send time (None: the
    # delivery loop's scan of sent rows does it later).
    reachability: Reachability | None = None
    messenger: Messenger = field(init=False)
    questions: QuestionService = field(init=False)

    def __post_init__(self) -> None:
        self.messenger = Messenger(self.outbox, self.texts, self.platforms)
        self.questions = QuestionService(self.messenger)

    # -- what handlers see (the Services protocol) ---------------------------------------

    def commands(self) -> tuple[CommandInfo, ...]:
        return self.registry.visible()

    def command(self, name: str) -> CommandInfo | None:
        found = self.registry.find(name)
        return found.info if found is not None else None

    # -- entry point ------------------------------------------------------------------

    async def handle_stored(self, session: AsyncSession, event: InboundEvent) -> None:
        """Handle an event the inbox stored (and de-duplicated) in the caller's transaction."""
        await self._dispatch(session, event)

    async def _dispatch(self, session: AsyncSession, event: InboundEvent) -> None:
        now = self.clock.now()
        if isinstance(event, DeliveryStatus):
            await self._delivery_status(session, event)
            return
        if isinstance(event, ConversationChanged):
            # Moved, the bot removed, re-added, blocked or unblocked, a topic renamed:
            # recorded as it is; nobody wrote, so nobody is answered.
            for account in await directory.apply_conversation(session, event.conversation, now):
                await self._reachable_again(session, *account)
            return
        writer = await directory.touch_inbound(session, event.platform, event.sender.user_id, now)
        await self.outbox.release_held(session, event.platform, event.sender.user_id)
        turn = await self._turn(session, event, writer)
        if isinstance(event, CommandInvoked):
            await self._command(turn, event.command, event.args)
        elif isinstance(event, MessageReceived):
            parsed = parse_command(event.text)
            if parsed is not None:
                await self._command(turn, *parsed)
            else:
                await self._message(turn, event)
        elif isinstance(event, ChoiceSelected):
            await self._choice(turn, event)
        elif isinstance(event, MessageEdited):
            if filing.may_replace(event.text):
                await self.questions.edit_reply(
                    session, event.platform, event.message_id or "", event.text, now
                )
        elif isinstance(event, MemberJoined):
            await self._group_contact(turn)
        # After the command: /start CODE sends a late starter's welcome before questions.
        for account in directory.reached_again(session):
            await self._reachable_again(session, *account)

    async def _turn(
        self, session: AsyncSession, event: InboundEvent, account: directory.Account
    ) -> Turn:
        """Who wrote where, from the sender's account as loaded once for the turn."""
        sender, conversation = event.sender, event.conversation
        # A private chat's id is its account's: what the account's identities say of
        # being reachable is known already.
        own = conversation.platform == sender.platform and conversation.id == sender.user_id
        space = await directory.ensure_space(
            session, conversation, account.identities if own else None
        )
        community: Community | None = None
        member = None
        if space.community_id is not None:
            community = account.communities.get(space.community_id) or await session.get(
                Community, space.community_id
            )
            if community is not None:
                member = account.member_in(community.id)
        elif account.members:
            member = account.members[0]
            community = account.communities[member.community_id]
            if conversation.kind is ConversationKind.DM:
                space.community_id = member.community_id
        return Turn(self, session, event, space, community, member)

    # -- commands -----------------------------------------------------------------------

    async def _command(self, turn: Turn, name: str, args: str) -> None:
        if len(args) > MAX_MESSAGE_LENGTH:
            await turn.say("error.too_long", private=True, limit=MAX_MESSAGE_LENGTH)
            return
        if turn.in_group and turn.community is not None and turn.member is None:
            await self._group_contact(turn)
        entry = self.registry.find(name)
        if entry is None:
            suggestion = difflib.get_close_matches(
                name, [c.name for c in self.registry.visible()], n=1
            )
            await turn.say(
                "error.unknown_command",
                private=True,
                command=name,
                suggestion=suggestion[0] if suggestion else "",
            )
            return
        if entry.info.needs_member and turn.member is None:
            key = "error.not_linked" if turn.in_group else "error.not_member"
            await turn.say(key, private=True)
            return
        if entry.info.facilitator_only and not await require_facilitator(turn, f"/{entry.name}"):
            return
        await entry.handler(turn, args)

    # -- plain messages -------------------------------------------------------------------

    async def _message(self, turn: Turn, event: MessageReceived) -> None:
        if turn.in_group:
            if turn.community is not None and turn.member is None:
                await self._group_contact(turn)
            return
        if turn.member is None or turn.community is None:
            await turn.say("error.not_member")
            return
        if event.unsupported:
            await turn.say("error.text_only", kind=event.unsupported)
            return
        if len(event.text) > MAX_MESSAGE_LENGTH:
            await turn.say("error.too_long", limit=MAX_MESSAGE_LENGTH)
            return
        text = event.text.strip()
        if not text:
            return
        if await self._numbered_choice(turn, text):
            return
        now = self.clock.now()
        prompt = None
        if event.reply_to_id or event.thread_id:
            row = await self.outbox.find_sent(
                turn.session, event.platform, event.reply_to_id or event.thread_id or ""
            )
            if row is not None and row.context.get("kind") == ContextKind.PROMPT:
                from storage.models import Prompt

                found = await turn.session.get(Prompt, int(row.context["prompt_id"]))
                # Only the member the question was put to can answer it.
                if found is not None and found.member_id == turn.member.id:
                    prompt = found
        target = filing.Target(prompt=prompt)
        if prompt is None:
            prompt = await self.questions.open_prompt(turn.session, turn.member, now)
            other = await self._awaiting(turn)
            if other is not None and (
                prompt is None or prompt.asked_at is None or other.asked_at >= prompt.asked_at
            ):
                target = filing.Target(awaiting=other)
            else:
                target = filing.Target(prompt=prompt)
        if target.prompt is None and target.awaiting is None:
            # Nothing is being asked: a stray "/" still gets the command answer.
            nothing = "filing.command" if text.startswith("/") else "error.not_understood"
            await turn.say(nothing)
            return
        # Kept only if it answers what is asked (see bot.engine.commands.filing).
        await filing.take(turn, target, text, event.platform, event.message_id)

    async def _awaiting(self, turn: Turn) -> Awaiting | None:
        """The most recent non-prompt question waiting for this member's text, if any."""
        may_find = await self._may_find(turn)
        probes = [probe for probe in self.registry.probes if may_find.get(probe, True)]
        found = [a for a in [await probe(turn) for probe in probes] if a is not None]
        return max(found, key=lambda a: a.asked_at, default=None)

    async def _may_find(self, turn: Turn) -> dict[AwaitingProbe, bool]:
        """Which probes may find something, asked of the database in one query."""
        answers: dict[AwaitingProbe, bool] = {}
        conditions: dict[AwaitingProbe, ColumnElement[bool]] = {}
        for probe, may_find in self.registry.probe_filters.items():
            condition = may_find(turn)
            if isinstance(condition, bool):
                answers[probe] = condition
            else:
                conditions[probe] = condition
        if conditions:
            row = (await turn.session.execute(select(*conditions.values()))).one()
            answers.update(zip(conditions, (bool(value) for value in row), strict=True))
        return answers

    async def _numbered_choice(self, turn: Turn, text: str) -> bool:
        """A typed number: a choice, or a question back when it could also be an answer."""
        return await numbers.typed(turn, text, self.registry)

    def _choice_handler(self, row: OutboxMessage) -> ChoiceHandler | None:
        kind = row.context.get("kind")
        if kind not in set(ContextKind):
            return None
        return self.registry.choice_handlers.get(ContextKind(kind))

    async def _choice(self, turn: Turn, event: ChoiceSelected) -> None:
        if turn.member is None:
            await turn.say("error.not_member", private=True)
            return
        if event.poll_id:
            row = await self.outbox.find_sent(
                turn.session, event.platform, event.poll_id, poll=True
            )
        else:
            row = await self.outbox.find_sent(turn.session, event.platform, event.choice_message_id)
        if row is None:
            log.info("choice on unknown message %s", event.choice_message_id)
            return
        choice_ids = event.choice_ids
        if event.poll_id:
            options = row.choices or []
            choice_ids = tuple(
                str(options[int(i)]["id"])
                for i in event.choice_ids
                if i.isdigit() and int(i) < len(options)
            )
        handler = self._choice_handler(row)
        if handler is not None:
            await handler(turn, row, choice_ids)

    # -- membership --------------------------------------------------------------------

    async def _group_contact(self, turn: Turn) -> None:
        """First contact in a linked group registers the sender as a member."""
        if turn.community is None or turn.member is not None:
            return
        now = self.clock.now()
        member, created = await directory.register(
            turn.session, turn.community, turn.event.sender, now
        )
        turn.member = member
        if created:
            await self.welcome(turn.session, turn.community, member)

    async def welcome(self, session: AsyncSession, community: Community, member: Member) -> None:
        await self.messenger.to_member(
            session,
            community,
            member,
            f"welcome:{member.id}",
            self.messenger.t(
                community, member, "welcome.dm", name=member.display_name, community=community.name
            ),
        )
        await self._catch_up_questions(session, community, member)
        for hook in self.registry.join_hooks:
            await hook(self, session, community, member)

    async def _catch_up_questions(
        self, session: AsyncSession, community: Community, member: Member
    ) -> None:
        now = self.clock.now()
        meeting = await onboarding.still_asking(session, community.id, now)
        if meeting is not None:
            await self.questions.catch_up(session, community, meeting, member, now)

    async def _reachable_again(self, session: AsyncSession, platform: str, user_id: str) -> None:
        """An account that can be written to again (Start pressed, the bot unblocked) is
        asked the questions the others were asked while it could not be: once (what was
        asked already is sent again by the directory), and not after the brief."""
        for member in await directory.members_of_account(session, platform, user_id):
            community = await session.get(Community, member.community_id)
            if community is not None and not member.opted_out:
                await self._catch_up_questions(session, community, member)

    async def _delivery_status(self, session: AsyncSession, event: DeliveryStatus) -> None:
        # Several rows when texts went out as one message: the status is each one's.
        rows = await self.outbox.sent_as(session, event.platform, event.message_id or "")
        now = self.clock.now()
        for row in rows:
            if event.status in ("delivered", "read") and row.delivered_at is None:
                row.delivered_at = now
            if event.status == "read" and row.read_at is None:
                row.read_at = now
            if event.status == "failed":
                row.last_error = event.error or "failed"
        if event.status == "failed" and rows and self.reachability is not None:
            await self.reachability.recheck_failed(session, now, rows)
