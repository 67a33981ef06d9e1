"""One inbound event being handled: who, where, and how to answer them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.context import Services
from bot.messages import (
    Address,
    Choice,
    ChoiceSelected,
    ConversationKind,
    InboundEvent,
    OutgoingMessage,
)
from bot.runtime.outbox import Envelope
from storage.models import Community, Member, Space

# What the outbox's idempotency key holds (storage.models.OutboxMessage).
KEY_LENGTH = 200


@dataclass(slots=True)
class Turn:
    services: Services
    session: AsyncSession
    event: InboundEvent
    space: Space | None
    community: Community | None
    member: Member | None
    _replies: int = field(default=0)

    @property
    def in_group(self) -> bool:
        return self.event.conversation.kind is ConversationKind.GROUP

    @property
    def language(self) -> str:
        if self.member is not None and self.member.language:
            return self.member.language
        if (
            self.event.sender.language
            and self.event.sender.language in self.services.texts.languages
        ):
            return self.event.sender.language
        if self.community is not None:
            return self.community.language
        return "en"

    def t(self, key: str, /, **values: Any) -> str:
        return self.services.texts.render(key, self.language, **values)

    def _key(self, suffix: str) -> str:
        event = self.event
        base = event.message_id or f"{id(event)}:{self.services.clock.now().timestamp()}"
        key = f"reply:{event.platform}:{event.conversation.id}:{base}:{suffix}"
        if len(key) <= KEY_LENGTH:
            return key
        # Ids longer than any platform's would not fit the outbox's key: their digest
        # does, the same for each handling of the event.
        digest = hashlib.sha256(f"{event.conversation.id}:{base}".encode(errors="replace"))
        return f"reply:{event.platform}:{digest.hexdigest()}:{suffix}"

    async def reply(
        self,
        text: str,
        *,
        private: bool = False,
        choices: tuple[Choice, ...] = (),
        context: Mapping[str, Any] | None = None,
        multi_select: bool = False,
        poll: bool = False,
    ) -> None:
        """Answer where the event came from; ``private`` answers only the sender.

        In a group, a private answer is ephemeral where the platform can do that and
        a direct message where it cannot.
        """
        event = self.event
        caps = self.services.outbox.capabilities(event.platform)
        if not self.in_group:
            address = Address(event.platform, ConversationKind.DM, event.conversation.id)
        elif private and caps.ephemeral:
            address = Address(
                event.platform,
                ConversationKind.GROUP,
                event.conversation.id,
                ephemeral_to=event.sender.user_id,
            )
        elif private:
            address = Address(event.platform, ConversationKind.DM, event.sender.user_id)
        else:
            address = Address(event.platform, ConversationKind.GROUP, event.conversation.id)
        self._replies += 1
        await self.services.outbox.put_one(
            self.session,
            Envelope(
                self._key(str(self._replies)),
                OutgoingMessage(
                    address=address,
                    text=text,
                    choices=choices,
                    multi_select=multi_select,
                    poll=poll,
                ),
                community_id=self.community.id if self.community else None,
                member_id=self.member.id if self.member else None,
                context=context or {},
            ),
        )

    async def say(self, key: str, /, *, private: bool = False, **values: Any) -> None:
        await self.reply(self.t(key, **values), private=private)

    @property
    def can_note(self) -> bool:
        """Whether this event is a button press the platform answers with a short note."""
        event = self.event
        return (
            isinstance(event, ChoiceSelected)
            and event.toggle
            and bool(event.message_id)
            and self.services.outbox.capabilities(event.platform).press_notes
        )

    async def note(self, key: str, /, **values: Any) -> None:
        """Answer a button press with a short note on the member's screen where the
        platform has them (:attr:`can_note`), else privately."""
        if not self.can_note:
            await self.say(key, private=True, **values)
            return
        event = self.event
        self._replies += 1
        await self.services.outbox.put_one(
            self.session,
            Envelope(
                self._key(str(self._replies)),
                OutgoingMessage(
                    address=Address(event.platform, event.conversation.kind, event.conversation.id),
                    text=self.t(key, **values),
                    reply_to=event.message_id,
                ),
                community_id=self.community.id if self.community else None,
                member_id=self.member.id if self.member else None,
            ),
        )
