"""Who is who: communities, members, their platform identities and the spaces they use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Address, Conversation, ConversationKind, Sender
from storage.models import Community, Identity, Member, Space


async def find_space(session: AsyncSession, platform: str, conversation_id: str) -> Space | None:
    return await session.scalar(
        select(Space).where(Space.platform == platform, Space.conversation_id == conversation_id)
    )


async def ensure_space(session: AsyncSession, conversation: Conversation) -> Space:
    space = await find_space(session, conversation.platform, conversation.id)
    if space is None:
        space = Space(
            platform=conversation.platform,
            conversation_id=conversation.id,
            kind=conversation.kind.value,
            title=conversation.title,
        )
        session.add(space)
        await session.flush()
    elif conversation.title and space.title != conversation.title:
        space.title = conversation.title
    return space


async def members_of_account(
    session: AsyncSession, platform: str, user_id: str
) -> Sequence[Member]:
    """Every community membership of one platform account, most recently active first."""
    rows = await session.scalars(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(Identity.platform == platform, Identity.user_id == user_id)
        .order_by(Identity.last_inbound_at.desc().nulls_last(), Identity.id.desc())
    )
    return rows.all()


async def member_in(
    session: AsyncSession, community_id: int, platform: str, user_id: str
) -> Member | None:
    return await session.scalar(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(
            Identity.community_id == community_id,
            Identity.platform == platform,
            Identity.user_id == user_id,
        )
    )


async def register(
    session: AsyncSession,
    community: Community,
    sender: Sender,
    now: datetime,
    role: str = "member",
) -> tuple[Member, bool]:
    """Find or create the member behind ``sender`` in ``community``; True when created."""
    existing = await member_in(session, community.id, sender.platform, sender.user_id)
    if existing is not None:
        if role == "facilitator" and existing.role != "facilitator":
            existing.role = "facilitator"
        return existing, False
    member = Member(
        community_id=community.id,
        display_name=sender.display_name or sender.user_id,
        role=role,
        language=sender.language if sender.language else None,
        timezone=sender.timezone,
        joined_at=now,
    )
    session.add(member)
    await session.flush()
    await add_identity(session, member, sender, now)
    return member, True


async def add_identity(
    session: AsyncSession, member: Member, sender: Sender, now: datetime
) -> Identity:
    identity = Identity(
        member_id=member.id,
        community_id=member.community_id,
        platform=sender.platform,
        user_id=sender.user_id,
        display_name=sender.display_name or sender.user_id,
        last_inbound_at=now,
        created_at=now,
    )
    session.add(identity)
    await session.flush()
    await session.refresh(member, ["identities"])
    return identity


def dm_address(identity: Identity) -> Address:
    return Address(identity.platform, ConversationKind.DM, identity.user_id)


def reachable_identities(member: Member, platforms: Iterable[str]) -> list[Identity]:
    """The member's identities on running platforms, best first (most recently active)."""
    running = set(platforms)
    usable = [i for i in member.identities if i.platform in running and i.unreachable_at is None]
    return sorted(
        usable,
        key=lambda i: (i.last_inbound_at is not None, i.last_inbound_at or i.created_at, i.id),
        reverse=True,
    )


async def active_members(session: AsyncSession, community_id: int) -> Sequence[Member]:
    rows = await session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.opted_out.is_(False))
        .order_by(Member.id)
    )
    return rows.all()


async def facilitators(session: AsyncSession, community_id: int) -> Sequence[Member]:
    rows = await session.scalars(
        select(Member)
        .where(Member.community_id == community_id, Member.role == "facilitator")
        .order_by(Member.id)
    )
    return rows.all()


async def group_spaces(session: AsyncSession, community_id: int) -> Sequence[Space]:
    rows = await session.scalars(
        select(Space)
        .where(
            Space.community_id == community_id,
            Space.kind == ConversationKind.GROUP.value,
            Space.unreachable_at.is_(None),
        )
        .order_by(Space.id)
    )
    return rows.all()


async def mark_unreachable(
    session: AsyncSession, address: Address, reason: str, now: datetime
) -> None:
    if address.kind is ConversationKind.DM:
        await session.execute(
            update(Identity)
            .where(
                Identity.platform == address.platform,
                Identity.user_id == address.conversation_id,
            )
            .values(unreachable_at=now, unreachable_reason=reason[:500])
        )
    else:
        await session.execute(
            update(Space)
            .where(
                Space.platform == address.platform,
                Space.conversation_id == address.conversation_id,
            )
            .values(unreachable_at=now)
        )


async def touch_inbound(session: AsyncSession, platform: str, user_id: str, now: datetime) -> None:
    """Record that this account just wrote (it is reachable again, its window is open)."""
    await session.execute(
        update(Identity)
        .where(Identity.platform == platform, Identity.user_id == user_id)
        .values(last_inbound_at=now, unreachable_at=None, unreachable_reason=None)
    )
