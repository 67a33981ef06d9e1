"""Group nudges: members the bot cannot write to privately are named in their group,
in one post a day per group listing everyone who still has to open a chat with the bot.

A Telegram bot cannot write to someone who never started it. One post per such member
would flood a group (200 members who joined before starting the bot are 200 posts and
ten minutes of a group's 20-a-minute budget), so the day's post is rewritten while it
waits to list them all, and once it is out, the next one waits a day. Members who
blocked the bot or whose account is gone are never named; nor are members the bot can
reach on another platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import Capabilities, is_account_gone, is_blocked
from bot.engine.texts import Texts
from bot.messages import Address, ConversationKind, Mention, OutgoingMessage
from bot.runtime.outbox import Envelope, Outbox
from storage.models import Community, Identity, Member, OutboxMessage, Space
from storage.statuses import OutboxStatus

# At most one nudge per group in this long.
NUDGE_EVERY = timedelta(days=1)
KEY_PREFIX = "nudge"


def nudge_key(platform: str, space: Space, day: datetime) -> str:
    return f"{KEY_PREFIX}:{platform}:{space.conversation_id}:{day.date().isoformat()}"


async def never_started(
    session: AsyncSession, community_id: int, platform: str, running: Mapping[str, Capabilities]
) -> list[tuple[str, str]]:
    """(user id, name) of the community's members whose ``platform`` account cannot be
    written to privately yet and who cannot be reached on another running platform,
    longest waiting first."""
    rows = (
        await session.execute(
            select(Identity, Member)
            .join(Member, Member.id == Identity.member_id)
            .where(
                Identity.community_id == community_id,
                Identity.platform == platform,
                Identity.unreachable_at.is_not(None),
                Member.opted_out.is_(False),
            )
            .order_by(Identity.unreachable_at, Identity.id)
        )
    ).all()
    if not rows:
        return []
    reachable_elsewhere = set(
        (
            await session.scalars(
                select(Identity.member_id).where(
                    Identity.member_id.in_([member.id for _, member in rows]),
                    Identity.platform != platform,
                    Identity.platform.in_(list(running)),
                    Identity.unreachable_at.is_(None),
                )
            )
        ).all()
    )
    return [
        (identity.user_id, member.display_name)
        for identity, member in rows
        if member.id not in reachable_elsewhere
        and not is_account_gone(identity.unreachable_reason)
        and not is_blocked(identity.unreachable_reason)
    ]


async def nudge_group(
    session: AsyncSession,
    outbox: Outbox,
    texts: Texts,
    running: Mapping[str, Capabilities],
    community: Community,
    space: Space,
    language: str | None,
    now: datetime,
) -> bool:
    """Write (or rewrite, while it waits) the group's nudge naming everyone who still
    has to start a private chat; False when nobody has to."""
    platform = space.platform
    waiting = await never_started(session, community.id, platform, running)
    if not waiting:
        return False
    prefix = f"{KEY_PREFIX}:{platform}:{space.conversation_id}:"
    latest = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.idempotency_key.startswith(prefix, autoescape=True))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    due = now
    if latest is not None:
        rewritten = (
            await session.execute(
                delete(OutboxMessage)
                .where(OutboxMessage.id == latest.id, OutboxMessage.status == OutboxStatus.PENDING)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
        ).first() is not None
        if rewritten:
            due = max(latest.next_attempt_at, now)  # the waiting post, now naming everyone
        else:
            due = max((latest.sent_at or latest.created_at) + NUDGE_EVERY, now)
    key = nudge_key(platform, space, due)
    written = await outbox.put_one(
        session,
        Envelope(
            key,
            group_nudge(texts, space, waiting, language),
            community_id=community.id,
            context={"nudged": [user_id for user_id, _ in waiting]},
        ),
    )
    if written and due > now:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == key)
            .values(next_attempt_at=due)
            .execution_options(synchronize_session=False)
        )
    return written


def group_nudge(
    texts: Texts, space: Space, waiting: Sequence[tuple[str, str]], language: str | None
) -> OutgoingMessage:
    """One member is mentioned (the platform notifies them); several are listed by name."""
    mention = Mention(*waiting[0]) if len(waiting) == 1 else None
    return OutgoingMessage(
        address=Address(space.platform, ConversationKind.GROUP, space.conversation_id),
        text=texts.render(
            "nudge.group",
            language,
            platform=space.platform,
            names=[] if mention is not None else [name for _, name in waiting],
        ),
        mention=mention,
        invite_to_dm=True,
    )
