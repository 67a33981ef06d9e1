"""Addressing members and groups: picks the platform a member is reached on."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import directory, timing
from bot.engine.services.timing import LocalTime
from bot.engine.texts import Texts
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope, Outbox
from storage.models import Community, Member


class Messenger:
    def __init__(self, outbox: Outbox, texts: Texts, platforms: list[str]) -> None:
        self.outbox = outbox
        self.texts = texts
        self.platforms = platforms

    def language(self, community: Community, member: Member | None) -> str:
        if member is not None and member.language:
            return member.language
        return community.language

    def t(self, community: Community, member: Member | None, key: str, /, **values: Any) -> str:
        return self.texts.render(key, self.language(community, member), **values)

    def member_envelope(
        self,
        community: Community,
        member: Member,
        key: str,
        text: str,
        *,
        choices: tuple[Choice, ...] = (),
        context: Mapping[str, Any] | None = None,
        multi_select: bool = False,
    ) -> Envelope | None:
        """A DM to the member on their best platform; None when they cannot be reached."""
        identities = directory.reachable_identities(member, self.platforms)
        if not identities:
            return None
        return Envelope(
            key,
            OutgoingMessage(
                address=directory.dm_address(identities[0]),
                text=text,
                choices=choices,
                multi_select=multi_select,
            ),
            community_id=community.id,
            member_id=member.id,
            context=context or {},
        )

    async def to_member(
        self,
        session: AsyncSession,
        community: Community,
        member: Member,
        key: str,
        text: str,
        *,
        choices: tuple[Choice, ...] = (),
        context: Mapping[str, Any] | None = None,
        not_before: datetime | None = None,
    ) -> bool:
        envelope = self.member_envelope(
            community, member, key, text, choices=choices, context=context
        )
        if envelope is not None and not_before is not None:
            envelope = replace(envelope, not_before=not_before)
        return envelope is not None and await self.outbox.put_one(session, envelope)

    async def to_groups(
        self,
        session: AsyncSession,
        community: Community,
        key: str,
        text: str,
        *,
        choices: tuple[Choice, ...] = (),
        context: Mapping[str, Any] | None = None,
        poll: bool = False,
        multi_select: bool = False,
        skip_groups: Collection[tuple[str, str]] = (),
        not_before: datetime | None = None,
    ) -> int:
        """Post to every linked group of the community on a running platform (but those
        in ``skip_groups``, as ``(platform, conversation id)``)."""
        envelopes = [
            Envelope(
                f"{key}:{space.platform}:{space.conversation_id}",
                OutgoingMessage(
                    address=Address(space.platform, ConversationKind.GROUP, space.conversation_id),
                    text=text,
                    choices=choices,
                    poll=poll,
                    multi_select=multi_select,
                ),
                community_id=community.id,
                context=context or {},
                not_before=not_before,
            )
            for space in await directory.group_spaces(session, community.id)
            if space.platform in self.platforms
            and (space.platform, space.conversation_id) not in skip_groups
        ]
        return await self.outbox.put(session, envelopes)

    async def to_community(
        self,
        session: AsyncSession,
        community: Community,
        key: str,
        text: str,
        *,
        short_text: str | None = None,
        choices: tuple[Choice, ...] = (),
        context: Mapping[str, Any] | None = None,
        poll: bool = False,
        multi_select: bool = False,
        skip_groups: Collection[tuple[str, str]] = (),
        at: tuple[LocalTime, datetime] | None = None,
    ) -> int:
        """Post to the community's groups, and DM the members who have no group to see it in.

        Members reached on a platform without groups (WhatsApp), or on one where the
        community has no linked group, get ``short_text`` (or ``text``) as a DM. Groups in
        ``skip_groups`` get nothing (they were shown it another way, e.g. by an edit).
        With ``at`` (a step's local time, and now), the groups get it at that hour in the
        community's timezone and each DM at that hour in the member's own.
        """
        group_at = None
        if at is not None and timing.in_community(community, at[0]) > at[1]:
            group_at = timing.in_community(community, at[0])
        posted = await self.to_groups(
            session,
            community,
            key,
            text,
            choices=choices,
            context=context,
            poll=poll,
            multi_select=multi_select,
            skip_groups=skip_groups,
            not_before=group_at,
        )
        grouped = {
            space.platform
            for space in await directory.group_spaces(session, community.id)
            if space.platform in self.platforms and self.outbox.capabilities(space.platform).groups
        }
        # A page of members at a time, their messages written before the next page is
        # read: a community of 100,000 on WhatsApp is never held at once.
        async for page in directory.member_pages(session, community.id):
            envelopes = []
            for member in page:
                identities = directory.reachable_identities(member, self.platforms)
                if not identities or any(i.platform in grouped for i in identities):
                    continue
                envelope = self.member_envelope(
                    community,
                    member,
                    f"{key}:member:{member.id}",
                    short_text or text,
                    choices=choices,
                    context=context,
                    multi_select=multi_select,
                )
                if envelope is not None and at is not None:
                    when = timing.deliver_at(community, member, at[1], at[0])
                    envelope = replace(envelope, not_before=when) if when > at[1] else envelope
                if envelope is not None:
                    envelopes.append(envelope)
            posted += await self.outbox.put(session, envelopes)
        return posted
