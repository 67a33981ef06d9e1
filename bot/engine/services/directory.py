"""Who is who: communities, members, their platform identities and the spaces they use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, inspect, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from bot.adapter import BLOCKED
from bot.messages import (
    PART_SEPARATOR,
    Address,
    Conversation,
    ConversationKind,
    Sender,
    group_of,
)
from storage.models import (
    Community,
    Identity,
    Meeting,
    Member,
    OutboxMessage,
    Prompt,
    Space,
    TimetableRun,
    WallEntry,
)
from storage.statuses import ContextKind, OutboxStatus, PromptStatus

# A message that could not reach a member is sent when they can be reached again
# (they started the bot late, unblocked it) if it is still this recent; a question
# while its meeting has not started and it is still open.
RESEND_WITHIN = timedelta(days=14)


async def find_space(session: AsyncSession, platform: str, conversation_id: str) -> Space | None:
    return await session.scalar(
        select(Space).where(Space.platform == platform, Space.conversation_id == conversation_id)
    )


def _now(session: AsyncSession) -> datetime:
    """The engine's time for this event (set by :func:`touch_inbound`), else the wall clock."""
    now = session.info.get("indaba.now")
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _in_group(column: InstrumentedAttribute[str], group: str) -> ColumnElement[bool]:
    """``column`` names ``group`` itself or one of its parts (``GROUP/PART``)."""
    return or_(column == group, column.startswith(group + PART_SEPARATOR, autoescape=True))


async def ensure_space(
    session: AsyncSession,
    conversation: Conversation,
    account: Sequence[Identity] | None = None,
) -> Space:
    """The space an event came from, created when new.

    A part of a group (a forum topic, ``GROUP/PART``) belongs to the group's linked
    space when it has none of its own, so members writing in any topic are the
    community's. The conversation also says whether it moved to a new id (the space,
    with its community and queued messages, follows) and whether the bot can still
    write there (removed, blocked) or can again. ``account``: the identities of a
    private chat's account, when loaded already (none unreachable: nothing to restore).
    """
    if conversation.previous_id and conversation.kind is ConversationKind.GROUP:
        await move_space(session, conversation.platform, conversation.previous_id, conversation.id)
    space = await find_space(session, conversation.platform, conversation.id)
    unlinked = space is None or space.community_id is None
    if conversation.kind is ConversationKind.GROUP and unlinked:
        space = await _linked_space(session, conversation.platform, conversation.id) or space
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
    if conversation.kind is ConversationKind.DM:
        if not conversation.inferred:
            await _dm_access(session, conversation, account)
    elif not conversation.reachable:
        await _group_access(session, conversation.platform, conversation.id, _now(session))
    elif space.unreachable_at is not None:
        # Any event from a group shows the bot is in it again.
        await _group_access(session, conversation.platform, conversation.id, None)
    return space


async def _linked_space(session: AsyncSession, platform: str, conversation_id: str) -> Space | None:
    """The space of ``conversation_id``'s group that is linked to a community, if any."""
    return await session.scalar(
        select(Space)
        .where(
            Space.platform == platform,
            Space.community_id.is_not(None),
            _in_group(Space.conversation_id, group_of(conversation_id)),
        )
        .order_by(Space.linked_at.desc().nulls_last(), Space.id)
        .limit(1)
    )


async def _group_access(
    session: AsyncSession, platform: str, conversation_id: str, unreachable_at: datetime | None
) -> None:
    """Mark the group (all of its parts) unreachable at ``unreachable_at``, or restore it."""
    await session.execute(
        update(Space)
        .where(
            Space.platform == platform,
            _in_group(Space.conversation_id, group_of(conversation_id)),
        )
        .values(unreachable_at=unreachable_at)
        .execution_options(synchronize_session="fetch")
    )


async def _dm_access(
    session: AsyncSession, conversation: Conversation, known: Sequence[Identity] | None
) -> None:
    """A private chat that says the bot is blocked marks the account unreachable; any
    other event from it makes it reachable again and sends what it missed (``known``:
    the account's identities, when loaded already)."""
    if (
        conversation.reachable
        and known is not None
        and all(identity.unreachable_at is None for identity in known)
    ):
        return
    now = _now(session)
    account = (Identity.platform == conversation.platform) & (Identity.user_id == conversation.id)
    if not conversation.reachable:
        await session.execute(
            update(Identity)
            # A block says more than "never started": it is never named in a group.
            .where(
                account,
                or_(
                    Identity.unreachable_reason.is_(None),
                    Identity.unreachable_reason.not_like(f"{BLOCKED}:%"),
                ),
            )
            .values(
                unreachable_at=func.coalesce(Identity.unreachable_at, now),
                unreachable_reason=f"{BLOCKED}: in the private chat",
            )
            .execution_options(synchronize_session="fetch")
        )
        return
    restored = (
        await session.scalars(
            update(Identity)
            .where(account, Identity.unreachable_at.is_not(None))
            .values(unreachable_at=None, unreachable_reason=None)
            .returning(Identity.id)
            .execution_options(synchronize_session="fetch")
        )
    ).all()
    if restored:
        await resend_undelivered(session, conversation.platform, conversation.id, now)
        session.info.setdefault(_REACHABLE_AGAIN, set()).add(
            (conversation.platform, conversation.id)
        )


# Accounts this transaction found reachable again (session.info), for the engine to
# send them what is still useful and was never queued for them.
_REACHABLE_AGAIN = "indaba.reachable_again"


def reached_again(session: AsyncSession) -> list[tuple[str, str]]:
    """The (platform, user id) accounts that became reachable in this transaction since
    the last call, each returned once."""
    found: set[tuple[str, str]] = session.info.pop(_REACHABLE_AGAIN, set())
    return sorted(found)


async def apply_conversation(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> list[tuple[str, str]]:
    """Record what a conversation change says (moved, the bot removed, re-added,
    blocked or unblocked) without anyone having written; returns the accounts it made
    reachable again."""
    session.info["indaba.now"] = now
    await ensure_space(session, conversation)
    return reached_again(session)


async def resend_undelivered(
    session: AsyncSession, platform: str, user_id: str, now: datetime
) -> int:
    """Queue again what could not reach this account while it was unreachable and is
    still useful (the welcome, the wall invitation, open questions of a meeting that has
    not started); the rest is recorded as expired. Returns how many were queued."""
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.platform == platform,
                OutboxMessage.conversation_kind == ConversationKind.DM.value,
                OutboxMessage.conversation_id == user_id,
                OutboxMessage.status == OutboxStatus.UNREACHABLE,
            )
            .order_by(OutboxMessage.id)
        )
    ).all()
    queued = 0
    for row in rows:
        if await _still_useful(session, row, now):
            # next_attempt_at is when it was first due, so it is due at once.
            row.status = OutboxStatus.PENDING
            row.attempts = 0
            row.lease_until = None
            queued += 1
            if row.idempotency_key.startswith(WALL_KEYS) and row.member_id is not None:
                await _wall_question_from(session, row.member_id, now)
        else:
            row.status = OutboxStatus.EXPIRED
    return queued


# The keys of the messages that open the wall conversation (an invitation, a refresh).
WALL_KEYS = ("wall-invite:", "wall-edit:", "wall-refresh:")


# A wall question sent again counts as asked this long before now: questions caught up
# in the same turn are shown after it, and the member's next words answer them first.
SHOWN_BEFORE = timedelta(seconds=1)


async def _wall_question_from(session: AsyncSession, member_id: int, now: datetime) -> None:
    """The wall question a member is sent again waits for them from now, when it reaches
    them, not from the first attempt that could not."""
    await session.execute(
        update(WallEntry)
        .where(WallEntry.member_id == member_id, WallEntry.pending_field.is_not(None))
        .values(pending_since=now - SHOWN_BEFORE)
        .execution_options(synchronize_session="fetch")
    )


async def _still_useful(session: AsyncSession, row: OutboxMessage, now: datetime) -> bool:
    if (row.context or {}).get("kind") == ContextKind.PROMPT:
        prompt = await session.get(Prompt, int(row.context["prompt_id"]))
        if prompt is None or prompt.status not in (PromptStatus.QUEUED, PromptStatus.ASKED):
            return False
        meeting = await session.get(Meeting, prompt.meeting_id)
        if meeting is None or meeting.cancelled_at is not None or meeting.starts_at <= now:
            return False
        # Once the brief is out, a late answer would reach no one.
        return not await brief_sent(session, meeting.id)
    return row.created_at >= now - RESEND_WITHIN


async def brief_sent(session: AsyncSession, meeting_id: int) -> bool:
    """Whether the timetable ran the meeting's brief (its answers went to facilitators)."""
    found = await session.scalar(
        select(TimetableRun.id).where(TimetableRun.key == f"brief:{meeting_id}")
    )
    return found is not None


async def move_space(session: AsyncSession, platform: str, old_id: str, new_id: str) -> None:
    """A group got a new id (a Telegram group upgraded to a supergroup): its spaces
    (the group and its parts) move there with their community, and the messages queued
    for them are re-addressed, so nothing is sent to the old id or dies there."""
    if old_id == new_id:
        return
    spaces = (
        await session.scalars(
            select(Space).where(
                Space.platform == platform, _in_group(Space.conversation_id, old_id)
            )
        )
    ).all()
    for space in spaces:
        target = new_id + space.conversation_id[len(old_id) :]
        there = await find_space(session, platform, target)
        if there is not None:
            if there.community_id is not None and space.community_id is None:
                continue  # the new chat is linked already; the old space has nothing to add
            # An unlinked space the new chat got before the move was known.
            await session.execute(delete(Space).where(Space.id == there.id))
            await session.flush()
        space.conversation_id = target
        await session.flush()
    waiting = (
        OutboxStatus.PENDING,
        OutboxStatus.HELD,
        OutboxStatus.SENDING,
        OutboxStatus.UNREACHABLE,
    )
    of_group = (OutboxMessage.platform == platform) & (
        OutboxMessage.conversation_kind == ConversationKind.GROUP.value
    )
    await session.execute(
        update(OutboxMessage)
        .where(of_group, OutboxMessage.conversation_id == old_id, OutboxMessage.status.in_(waiting))
        .values(conversation_id=new_id, status=OutboxStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            of_group,
            OutboxMessage.conversation_id.startswith(old_id + PART_SEPARATOR, autoescape=True),
            OutboxMessage.status.in_(waiting),
        )
        .values(
            conversation_id=literal(new_id)
            + func.substr(OutboxMessage.conversation_id, len(old_id) + 1),
            status=OutboxStatus.PENDING,
        )
        .execution_options(synchronize_session=False)
    )


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


async def member_pages(
    session: AsyncSession, community_id: int, size: int = 500
) -> AsyncIterator[list[Member]]:
    """The community's active members by id, ``size`` at a time.

    Each page leaves the session (is expunged) when the next is asked for, so a step's
    fan-out holds one page whatever the community's size; members the session held
    before stay in it, for whoever holds them.
    """
    held = set(session.identity_map.keys())
    # Their ids first, then each page by primary key: a page by "id > last" would be
    # read through the community's index and sorted, the whole community every page.
    ids = list(
        (
            await session.scalars(
                select(Member.id)
                .where(Member.community_id == community_id, Member.opted_out.is_(False))
                .order_by(Member.id)
            )
        ).all()
    )
    for start in range(0, len(ids), size):
        page = list(
            (
                await session.scalars(
                    select(Member)
                    .where(Member.id.in_(ids[start : start + size]))
                    .order_by(Member.id)
                )
            ).all()
        )
        yield page
        for member in page:
            # The expunge cascades to the member's identities.
            owned = [inspect(member).key, *(inspect(i).key for i in member.identities)]
            if not any(key in held for key in owned):
                session.expunge(member)


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
        # The bot is out of the whole group, whichever part (topic) the message was for.
        await _group_access(session, address.platform, address.conversation_id, now)


@dataclass(frozen=True, slots=True)
class Account:
    """One platform account that just wrote: its identities (one per community), the
    members they are (most recently active first) and those members' communities."""

    identities: list[Identity]
    members: list[Member]
    communities: dict[int, Community]

    def member_in(self, community_id: int) -> Member | None:
        owner = next((i.member_id for i in self.identities if i.community_id == community_id), 0)
        return next((m for m in self.members if m.id == owner), None)


async def touch_inbound(
    session: AsyncSession, platform: str, user_id: str, now: datetime
) -> Account:
    """Record that this account just wrote (its reply window is open); returns it, its
    members with their identities and their communities (one query for all a turn
    needs to know of its sender).

    Whether the bot can write to them privately again is learnt from their private
    chat (:func:`ensure_space`): on Telegram, writing in a group does not start the bot.
    """
    session.info["indaba.now"] = now
    rows = (
        (
            await session.execute(
                select(Member, Community)
                .join(Identity, Identity.member_id == Member.id)
                .join(Community, Community.id == Member.community_id)
                .where(Identity.platform == platform, Identity.user_id == user_id)
                # Every identity of the account is now the most recently active: newest first.
                .order_by(Identity.id.desc())
                .options(joinedload(Member.identities))
            )
        )
        .unique()
        .all()
    )
    members = [member for member, _ in rows]
    identities = [
        identity
        for member in members
        for identity in member.identities
        if identity.platform == platform and identity.user_id == user_id
    ]
    for identity in identities:
        identity.last_inbound_at = now
    return Account(identities, members, {community.id: community for _, community in rows})
