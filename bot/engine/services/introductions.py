"""Connecting the dots: offer two members an introduction when the wall matches them.

A match is a need of one member that shares words with what another can contribute,
or a passion two members share. Words are compared by their stems, stop words left
out (:mod:`bot.engine.services.text_model`), and the offer says which words, as the
member wrote them: "Kwame can offer what you need: procurement data". Never the same
pair twice, at most one introduction offered per member per week; each member may
decline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import text_model
from bot.engine.services.messenger import Messenger
from bot.engine.services.wall import entries
from bot.messages import Choice
from storage.models import Community, Introduction, Member, WallEntry
from storage.statuses import ContextKind, IntroductionAnswer

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Match:
    """Why two wall entries should meet: ``reason`` is "need" or "passion"; for a need,
    ``needs`` is the member id of the one who needs; ``words`` are the shared words as
    that member (or, for a passion, the first) wrote them."""

    reason: str
    words: list[str]
    needs: int | None = None


def match(a: WallEntry, b: WallEntry, language: str = "en") -> Match | None:
    """Why ``a`` and ``b`` should meet, and over which words."""
    model = text_model.default()
    for needer, offerer in ((a, b), (b, a)):
        words = model.shared(needer.needs, offerer.contributes, default=language)
        if words:
            return Match("need", words, needer.member_id)
    # A passion is told in the words of the member who joined first, for both.
    first, second = sorted((a, b), key=lambda entry: entry.member_id)
    words = model.shared(first.passions, second.passions, default=language)
    return Match("passion", words) if words else None


async def _busy(session: AsyncSession, member_id: int, now: datetime) -> bool:
    recent = await session.scalar(
        select(Introduction.id)
        .where(
            or_(Introduction.member_a_id == member_id, Introduction.member_b_id == member_id),
            Introduction.offered_at > now - WEEK,
        )
        .limit(1)
    )
    return recent is not None


async def _paired(session: AsyncSession, community: Community, a: int, b: int) -> bool:
    low, high = sorted((a, b))
    found = await session.scalar(
        select(Introduction.id).where(
            Introduction.community_id == community.id,
            Introduction.member_a_id == low,
            Introduction.member_b_id == high,
        )
    )
    return found is not None


async def offer_for(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    entry: WallEntry,
    now: datetime,
) -> Introduction | None:
    """Offer the member of ``entry`` one introduction, if a match is free to be made."""
    # A hidden entry is quoted to nobody.
    if entry.hidden_at is not None or await _busy(session, entry.member_id, now):
        return None
    for other in await entries(session, community):
        if other.member_id == entry.member_id:
            continue
        found = match(entry, other, community.language)
        if found is None or await _paired(session, community, entry.member_id, other.member_id):
            continue
        if await _busy(session, other.member_id, now):
            continue
        a, b = (
            await session.get(Member, entry.member_id),
            await session.get(Member, other.member_id),
        )
        if a is None or b is None or a.opted_out or b.opted_out:
            continue
        low, high = sorted((a, b), key=lambda m: m.id)
        intro = Introduction(
            community_id=community.id,
            member_a_id=low.id,
            member_b_id=high.id,
            reason=found.reason,
            topics=", ".join(found.words)[:300],
            offered_at=now,
        )
        session.add(intro)
        await session.flush()
        for member, partner in ((low, high), (high, low)):
            await messenger.to_member(
                session,
                community,
                member,
                f"introduction:{intro.id}:{member.id}",
                messenger.t(
                    community,
                    member,
                    "intro.offer",
                    name=member.display_name,
                    other=partner.display_name,
                    reason=found.reason,
                    side=_side(found, member),
                    words=found.words,
                    topics=intro.topics,
                ),
                choices=(
                    Choice("accept", messenger.t(community, member, "intro.accept")),
                    Choice("decline", messenger.t(community, member, "intro.decline")),
                ),
                context={"kind": ContextKind.INTRODUCTION, "introduction_id": intro.id},
            )
        return intro
    return None


def _side(found: Match, member: Member) -> str:
    """How the offer reads for ``member``: "needs", "offers" or "passion"."""
    if found.needs is None:
        return "passion"
    return "needs" if found.needs == member.id else "offers"


async def answer(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    intro: Introduction,
    member: Member,
    accepted: bool,
    now: datetime,
) -> str:
    """Record the member's answer; returns the text key of the acknowledgement."""
    side = "a_answer" if member.id == intro.member_a_id else "b_answer"
    if getattr(intro, side) is not None:
        return "intro.answered_already"
    setattr(intro, side, IntroductionAnswer.ACCEPTED if accepted else IntroductionAnswer.DECLINED)
    if not accepted:
        return "intro.declined"
    if (
        intro.a_answer == IntroductionAnswer.ACCEPTED
        and intro.b_answer == IntroductionAnswer.ACCEPTED
    ):
        intro.made_at = now
        a = await session.get(Member, intro.member_a_id)
        b = await session.get(Member, intro.member_b_id)
        assert a is not None and b is not None
        for one, other in ((a, b), (b, a)):
            await messenger.to_member(
                session,
                community,
                one,
                f"introduction-made:{intro.id}:{one.id}",
                messenger.t(
                    community, one, "intro.made", other=other.display_name, topics=intro.topics
                ),
            )
        return ""
    return "intro.waiting"


async def made_between(
    session: AsyncSession, community: Community, since: datetime, until: datetime
) -> list[Introduction]:
    rows = await session.scalars(
        select(Introduction)
        .where(
            Introduction.community_id == community.id,
            Introduction.made_at >= since,
            Introduction.made_at < until,
        )
        .order_by(Introduction.made_at)
    )
    return list(rows.all())
