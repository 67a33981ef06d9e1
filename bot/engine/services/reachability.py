"""Delivery policy: who can be reached where, and what to send when they cannot.

The delivery loop (``bot.runtime.delivery``) only claims, sends and records; it asks
this service which reply windows are closed, and hands it the messages that were held
or whose address turned out unreachable. Texts are rendered in the member's language
(or the community's, for a group).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Capabilities, is_account_gone
from bot.engine.services import directory
from bot.engine.texts import Texts
from bot.messages import Address, ConversationKind, Mention, OutgoingMessage
from bot.runtime.clock import Clock
from bot.runtime.outbox import Envelope, Outbox, row_to_message
from storage.models import Community, Identity, Member, OutboxMessage

log = logging.getLogger(__name__)

# A window closing within this margin counts as closed: the message would arrive late.
WINDOW_MARGIN = timedelta(minutes=1)


class Reachability:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
        capabilities: Mapping[str, Capabilities],
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self._capabilities = capabilities

    # -- reply windows ---------------------------------------------------------------

    async def closed_windows(self, rows: Sequence[OutboxMessage]) -> set[tuple[str, str]]:
        """DM conversations among ``rows`` on a windowed platform whose window is closed.

        One query for the whole batch. An address that is nobody's identity yet (an
        answer to someone who just wrote) counts as open: the platform enforces the
        window itself, and its refusal holds the message.
        """
        wanted = {
            (row.platform, row.conversation_id)
            for row in rows
            if row.conversation_kind == ConversationKind.DM.value
            and self._window(row.platform) is not None
        }
        if not wanted:
            return set()
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Identity.platform, Identity.user_id, func.max(Identity.last_inbound_at))
                    .where(
                        Identity.platform.in_({platform for platform, _ in wanted}),
                        Identity.user_id.in_({user for _, user in wanted}),
                    )
                    .group_by(Identity.platform, Identity.user_id)
                )
            ).all()
        now = self._clock.now()
        closed = set()
        for platform, user_id, last in found:
            if (platform, user_id) not in wanted:
                continue
            window = self._window(platform)
            assert window is not None
            if last is None or now - last >= window - WINDOW_MARGIN:
                closed.add((platform, user_id))
        return closed

    def _window(self, platform: str) -> timedelta | None:
        caps = self._capabilities.get(platform)
        return caps.reply_window if caps is not None else None

    async def on_held(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> None:
        """Ask each member whose messages wait to open their window, once a day at most."""
        for row in {(r.platform, r.conversation_id): r for r in rows}.values():
            community, member = await self._whom(session, row)
            text = self._texts.render(
                "reopener",
                self._language(community, member),
                community=community.name if community is not None else "Indaba",
            )
            message = OutgoingMessage(address=row_to_message(row).address, text=text, reopener=True)
            key = f"reopener:{row.platform}:{row.conversation_id}:{now.date().isoformat()}"
            await self._outbox.put_one(
                session,
                Envelope(key, message, community_id=row.community_id, member_id=row.member_id),
            )

    # -- unreachable addresses --------------------------------------------------------

    async def on_unreachable(
        self, session: AsyncSession, row: OutboxMessage, reason: str, now: datetime
    ) -> None:
        """Mark the address; reach the member on another platform, or name them in a group."""
        address = row_to_message(row).address
        await directory.mark_unreachable(session, address, reason, now)
        log.warning("%s %s is unreachable: %s", row.platform, row.conversation_id, reason)
        if row.member_id is None or address.kind is not ConversationKind.DM:
            return
        member = await session.get(Member, row.member_id)
        if member is None:
            return
        await session.refresh(member, ["identities"])
        for identity in directory.reachable_identities(member, self._capabilities):
            if identity.platform == row.platform:
                continue
            message = row_to_message(row)
            rerouted = OutgoingMessage(
                address=directory.dm_address(identity),
                text=message.text,
                choices=message.choices,
                multi_select=message.multi_select,
                poll=message.poll,
            )
            await self._outbox.put_one(
                session,
                Envelope(
                    f"{row.idempotency_key}:via:{identity.platform}",
                    rerouted,
                    community_id=row.community_id,
                    member_id=row.member_id,
                    context=row.context,
                ),
            )
            return
        if is_account_gone(reason):
            return  # deactivated or deleted: nobody should be asked to open a chat
        await self._nudge_in_group(session, row, member, now)

    async def _nudge_in_group(
        self, session: AsyncSession, row: OutboxMessage, member: Member, now: datetime
    ) -> None:
        """Nobody can DM them: name them in their group (once a day) so they start a chat.

        Only a short invitation goes to the group, never the private message itself.
        """
        caps = self._capabilities.get(row.platform)
        if caps is None or not caps.groups:
            return
        community = await session.get(Community, member.community_id)
        for space in await directory.group_spaces(session, member.community_id):
            if space.platform != row.platform:
                continue
            nudge = OutgoingMessage(
                address=Address(space.platform, ConversationKind.GROUP, space.conversation_id),
                text=self._texts.render(
                    "nudge.group", self._language(community, None), platform=row.platform
                ),
                mention=Mention(row.conversation_id, member.display_name),
                invite_to_dm=True,
            )
            await self._outbox.put_one(
                session,
                Envelope(
                    f"nudge:{row.platform}:{row.conversation_id}:{now.date().isoformat()}",
                    nudge,
                    community_id=row.community_id,
                    member_id=member.id,
                ),
            )
            return

    # -- languages ------------------------------------------------------------------

    async def _whom(
        self, session: AsyncSession, row: OutboxMessage
    ) -> tuple[Community | None, Member | None]:
        member = await session.get(Member, row.member_id) if row.member_id else None
        community_id = row.community_id or (member.community_id if member else None)
        community = await session.get(Community, community_id) if community_id else None
        return community, member

    @staticmethod
    def _language(community: Community | None, member: Member | None) -> str | None:
        if member is not None and member.language:
            return member.language
        return community.language if community is not None else None
