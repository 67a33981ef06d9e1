"""What a community's messages cost: re-opening templates counted per month, as the
platform bills them, and the community's monthly cap on them.

Since July 2025 WhatsApp bills per message: every template delivered outside the
member's 24-hour window is charged at its category's rate (utility, marketing,
authentication), while messages inside the window (service messages) are free. Indaba
sends a template only to re-open a closed window, so each one sent is a billed
message; everything else it sends is a service message. The counts are read from the
outbox (the re-openers it sent this month), in UTC months as Meta bills them.

Past the cap (``CommunitySettings.monthly_template_cap``), no further template goes out
that month: the messages it would have released stay held (nothing is lost) until the
member writes, which opens the window for free, or until the month turns and the
template goes. The facilitators are told once a month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import Capabilities
from bot.engine import i18n
from bot.engine.community_settings import CommunitySettings
from bot.engine.services import directory
from bot.engine.texts import Texts
from bot.messages import OutgoingMessage
from bot.runtime.outbox import Envelope, Outbox
from storage.models import Community, OutboxMessage
from storage.statuses import OutboxStatus

REOPENER_KEY = "reopener:"


def month_start(now: datetime) -> datetime:
    """The first moment of ``now``'s month (UTC)."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """One community's messages on one platform this month."""

    templates: int = 0  # re-opening templates: billed
    service: int = 0  # everything else: free inside the window


async def month_usage(
    session: AsyncSession, now: datetime, community_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Usage]]:
    """Community id → platform → this month's messages sent, templates apart."""
    is_template = case((OutboxMessage.idempotency_key.startswith(REOPENER_KEY), 1), else_=0)
    query = (
        select(OutboxMessage.community_id, OutboxMessage.platform, is_template, func.count())
        .where(
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.sent_at >= month_start(now),
            OutboxMessage.community_id.is_not(None),
        )
        .group_by(OutboxMessage.community_id, OutboxMessage.platform, is_template)
    )
    if community_ids is not None:
        query = query.where(OutboxMessage.community_id.in_(list(community_ids) or [0]))
    found: dict[int, dict[str, Usage]] = {}
    for community_id, platform, template, count in (await session.execute(query)).all():
        usage = found.setdefault(int(community_id), {}).get(platform, Usage())
        if template:
            usage = Usage(usage.templates + int(count), usage.service)
        else:
            usage = Usage(usage.templates, usage.service + int(count))
        found[int(community_id)][platform] = usage
    return found


async def templates_this_month(
    session: AsyncSession, community_ids: Iterable[int], now: datetime
) -> dict[int, int]:
    """Community id → re-opening templates sent this month, on every platform."""
    usage = await month_usage(session, now, community_ids)
    return {
        community_id: sum(u.templates for u in platforms.values())
        for community_id, platforms in usage.items()
    }


async def caps(session: AsyncSession, community_ids: Iterable[int]) -> dict[int, int]:
    """Community id → its monthly template cap, for the communities that set one."""
    communities = (
        await session.scalars(select(Community).where(Community.id.in_(list(community_ids) or [0])))
    ).all()
    found = {c.id: CommunitySettings.of(c.settings).monthly_template_cap for c in communities}
    return {community_id: cap for community_id, cap in found.items() if cap > 0}


async def tell_cap_reached(
    session: AsyncSession,
    outbox: Outbox,
    texts: Texts,
    capabilities: Mapping[str, Capabilities],
    community_id: int,
    cap: int,
    now: datetime,
) -> int:
    """Tell the community's facilitators, once a month, that the cap is reached; on a
    platform without a reply window where they have one, so the note is not held too."""
    community = await session.get(Community, community_id)
    if community is None:
        return 0
    month = month_start(now)
    envelopes = []
    for facilitator in await directory.facilitators(session, community_id):
        await session.refresh(facilitator, ["identities"])
        identities = directory.reachable_identities(facilitator, capabilities)
        if not identities:
            continue
        windowless = [i for i in identities if capabilities[i.platform].reply_window is None]
        identity = (windowless or identities)[0]
        language = facilitator.language or community.language
        text = texts.render(
            "costs.cap_reached",
            language,
            community=community.name,
            cap=cap,
            until=i18n.format_date(next_month(now), language),
        )
        envelopes.append(
            Envelope(
                f"template-cap:{community_id}:{month:%Y-%m}:{facilitator.id}",
                OutgoingMessage(address=directory.dm_address(identity), text=text),
                community_id=community_id,
                member_id=facilitator.id,
            )
        )
    return await outbox.put(session, envelopes)
