"""The wall of passions: what each member loves, offers and needs, and shared topics.

Topics are the words members share, compared by their stems with stop words left out
(:mod:`bot.engine.services.text_model`), each shown as members wrote it most often.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import filing, text_model
from bot.engine.services.messenger import Messenger
from bot.engine.services.moderation import visible
from storage.models import Community, Member, WallEntry

FIELDS = ("passions", "contributes", "needs")
MAX_FIELD_LENGTH = 500


class WallError(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


async def entry_of(session: AsyncSession, member: Member) -> WallEntry | None:
    return await session.scalar(select(WallEntry).where(WallEntry.member_id == member.id))


async def entries(session: AsyncSession, community: Community) -> list[WallEntry]:
    rows = await session.scalars(
        select(WallEntry)
        .where(
            WallEntry.community_id == community.id,
            WallEntry.completed_at.is_not(None),
            visible(WallEntry),
        )
        .order_by(WallEntry.id)
    )
    return list(rows.all())


async def start_conversation(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    member: Member,
    now: datetime,
    key: str,
    *,
    refresh: bool = False,
    at: datetime | None = None,
) -> bool:
    """Invite the member, in a DM, to tell the wall three things (one question at a time).

    With ``at`` (later than now) the invitation waits until then, and so does the wall's
    wait for an answer: what the member writes before it reaches them is not filed.
    """
    entry = await entry_of(session, member)
    if entry is None:
        entry = WallEntry(community_id=community.id, member_id=member.id, created_at=now)
        session.add(entry)
    later = at if at is not None and at > now else None
    entry.pending_field = FIELDS[0]
    entry.pending_since = later or now
    await session.flush()
    text = messenger.t(
        community,
        member,
        "wall.refresh" if refresh else "wall.invite",
        name=member.display_name,
        community=community.name,
        current=entry.passions or "",
    )
    question = messenger.t(community, member, "wall.ask.passions", current=entry.passions or "")
    return await messenger.to_member(
        session, community, member, key, f"{text}\n\n{question}", not_before=later
    )


async def record(session: AsyncSession, entry: WallEntry, text: str, now: datetime) -> str | None:
    """Store the answer to the pending question; returns the next field, or None when done."""
    if len(text) > MAX_FIELD_LENGTH:
        raise WallError("error.too_long", limit=MAX_FIELD_LENGTH)
    field = entry.pending_field
    assert field in FIELDS
    # A skip word ("-", "skip", "passer"... in any language) keeps what was there.
    if not filing.is_skip(text):
        setattr(entry, field, text.strip())
    following = FIELDS[FIELDS.index(field) + 1] if field != FIELDS[-1] else None
    entry.pending_field = following
    entry.pending_since = now if following else None
    if following is None:
        if entry.completed_at is None:
            entry.completed_at = now
        else:
            entry.refreshed_at = now
    await session.flush()
    return following


def set_field(entry: WallEntry, field: str, text: str, now: datetime) -> None:
    if field not in FIELDS:
        raise WallError("wall.usage")
    if len(text) > MAX_FIELD_LENGTH:
        raise WallError("error.too_long", limit=MAX_FIELD_LENGTH)
    if not text.strip() or filing.is_skip(text):
        raise WallError("wall.usage")
    setattr(entry, field, text.strip())
    if entry.completed_at is None:
        entry.completed_at = now
    else:
        entry.refreshed_at = now


@dataclass(frozen=True, slots=True)
class Topic:
    word: str
    holders: list[tuple[Member, str]]


async def topics(
    session: AsyncSession, community: Community
) -> tuple[list[Topic], list[WallEntry]]:
    """Words held by two members or more, with who holds them and how; and the entries
    that share no topic."""
    rows = await entries(session, community)
    model = text_model.default()
    by_stem: dict[str, list[tuple[int, str]]] = {}
    forms: dict[str, Counter[str]] = {}
    for entry in rows:
        for field in FIELDS:
            for word in model.words(getattr(entry, field), default=community.language):
                if word.stop:
                    continue
                forms.setdefault(word.stem, Counter())[word.surface.lower()] += 1
                holders = by_stem.setdefault(word.stem, [])
                if (entry.member_id, field) not in holders:
                    holders.append((entry.member_id, field))
    shared = {
        forms[stem].most_common(1)[0][0]: holders
        for stem, holders in by_stem.items()
        if len({member_id for member_id, _ in holders}) > 1
    }
    members = {e.member_id: await session.get(Member, e.member_id) for e in rows}
    result = [
        Topic(word, [(m, field) for mid, field in holders if (m := members[mid]) is not None])
        for word, holders in sorted(shared.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    in_topics = {mid for holders in shared.values() for mid, _ in holders}
    alone = [e for e in rows if e.member_id not in in_topics]
    return result, alone


def wall_members(rows: Sequence[WallEntry]) -> list[int]:
    return [e.member_id for e in rows]
