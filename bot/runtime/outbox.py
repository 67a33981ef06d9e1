"""The persistent outbox: every outgoing message is written here before it is sent.

The idempotency key names what the message is for (``prompt:42``, ``brief:7:3``), so
writing the same message twice, from a job that fired twice or an event delivered
twice, stores it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import Capabilities
from bot.messages import Address, Attachment, Choice, ConversationKind, Mention, OutgoingMessage
from bot.runtime.clock import Clock
from storage.bulk import insert_ignore
from storage.models import OutboxMessage
from storage.statuses import OutboxStatus


@dataclass(frozen=True, slots=True)
class Envelope:
    """An outgoing message with what the outbox keeps beside it."""

    key: str
    message: OutgoingMessage
    community_id: int | None = None
    member_id: int | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    # Not sent before this moment (a member's local time, the end of their quiet hours).
    not_before: datetime | None = None


def degrade_choices(message: OutgoingMessage, caps: Capabilities) -> OutgoingMessage:
    """Turn choices into numbered lines where the platform cannot show them as buttons."""
    if not message.choices:
        return message
    fits_buttons = caps.buttons and len(message.choices) <= max(caps.max_buttons, 0)
    fits_poll = message.poll and caps.native_polls
    if fits_buttons or fits_poll:
        return message
    if all(choice.number is not None for choice in message.choices):
        # The text already lists the choices under their numbers (a ballot): no second list.
        return replace(message, poll=False)
    lines = [f"{i}. {choice.label}" for i, choice in enumerate(message.choices, start=1)]
    # replace() keeps every other field (reopener, mention, close_poll…) as it was.
    return replace(message, text=message.text + "\n\n" + "\n".join(lines), poll=False)


def row_to_message(row: OutboxMessage) -> OutgoingMessage:
    options = row.options or {}
    return OutgoingMessage(
        address=Address(
            platform=row.platform,
            kind=ConversationKind(row.conversation_kind),
            conversation_id=row.conversation_id,
            thread_id=row.thread_id,
            ephemeral_to=row.ephemeral_to,
        ),
        text=row.text,
        choices=tuple(
            Choice(c["id"], c["label"], c.get("description"), c.get("number"))
            for c in (row.choices or [])
        ),
        multi_select=bool(options.get("multi_select")),
        poll=bool(options.get("poll")),
        reply_to=options.get("reply_to"),
        edit_of=options.get("edit_of"),
        close_poll=bool(options.get("close_poll")),
        reopener=bool(options.get("reopener")),
        invite_to_dm=bool(options.get("invite_to_dm")),
        mention=Mention(*options["mention"]) if options.get("mention") else None,
        attachment=Attachment(**options["attachment"]) if options.get("attachment") else None,
    )


class Outbox:
    """Writes envelopes to the outbox table and wakes the delivery loop."""

    def __init__(self, clock: Clock, capabilities: Mapping[str, Capabilities]) -> None:
        self._clock = clock
        self._capabilities = capabilities
        self.wakeup = asyncio.Event()

    def capabilities(self, platform: str) -> Capabilities:
        return self._capabilities.get(platform, Capabilities())

    def _row(self, envelope: Envelope) -> dict[str, Any]:
        message = degrade_choices(
            envelope.message, self.capabilities(envelope.message.address.platform)
        )
        address = message.address
        now = self._clock.now()
        options = {
            name: value
            for name, value in (
                ("multi_select", message.multi_select),
                ("poll", message.poll),
                ("reply_to", message.reply_to),
                ("edit_of", message.edit_of),
                ("close_poll", message.close_poll),
                ("reopener", message.reopener),
                ("invite_to_dm", message.invite_to_dm),
                (
                    "mention",
                    [message.mention.user_id, message.mention.name] if message.mention else None,
                ),
                (
                    "attachment",
                    {
                        "url": message.attachment.url,
                        "filename": message.attachment.filename,
                        "media_type": message.attachment.media_type,
                    }
                    if message.attachment
                    else None,
                ),
            )
            if value
        }
        return {
            "idempotency_key": envelope.key,
            "community_id": envelope.community_id,
            "member_id": envelope.member_id,
            "platform": address.platform,
            "conversation_kind": address.kind.value,
            "conversation_id": address.conversation_id,
            "thread_id": address.thread_id,
            "ephemeral_to": address.ephemeral_to,
            "text": message.text,
            "choices": [
                {
                    "id": c.id,
                    "label": c.label,
                    **({"description": c.description} if c.description else {}),
                    **({"number": c.number} if c.number is not None else {}),
                }
                for c in message.choices
            ],
            "options": options,
            "context": dict(envelope.context),
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": max(now, envelope.not_before) if envelope.not_before else now,
            "created_at": now,
        }

    async def put(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> int:
        """Write envelopes; an envelope whose key is already stored is skipped.

        Returns how many were new. The caller commits; the loop is woken either way.
        """
        rows = [self._row(envelope) for envelope in envelopes]
        created = await insert_ignore(session, OutboxMessage, rows, ["idempotency_key"])
        if rows:
            self.wakeup.set()
        return len(created)

    async def put_one(self, session: AsyncSession, envelope: Envelope) -> bool:
        return await self.put(session, [envelope]) == 1

    async def release_held(self, session: AsyncSession, platform: str, user_id: str) -> int:
        """Send what waited for the member's reply window to open (they just wrote)."""
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.HELD,
                OutboxMessage.platform == platform,
                OutboxMessage.conversation_id == user_id,
            )
            .values(status=OutboxStatus.PENDING, next_attempt_at=self._clock.now())
            .returning(OutboxMessage.id)
        )
        released = len(result.all())
        if released:
            self.wakeup.set()
        return released

    async def sent_as(
        self, session: AsyncSession, platform: str, message_id: str
    ) -> list[OutboxMessage]:
        """Every row sent as this platform message (texts sent as one share its id)."""
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.platform == platform,
                OutboxMessage.platform_message_id == message_id,
            )
            .order_by(OutboxMessage.id)
        )
        return list(rows.all())

    async def find_sent(
        self, session: AsyncSession, platform: str, message_id: str, *, poll: bool = False
    ) -> OutboxMessage | None:
        """The outbox row of a sent message, by the platform's message id (or poll id)."""
        column = OutboxMessage.platform_poll_id if poll else OutboxMessage.platform_message_id
        return await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.platform == platform, column == message_id)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
