"""Hiding, removing and restoring what members filed, and the audit log of it.

A hidden item stays in the database but leaves the brief, the harvest, the digest and
every export: their queries keep only ``visible(Model)`` rows. A removed item is
deleted for good. Each change is written to the audit log (``indaba audit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import filing
from storage.models import (
    AgendaItem,
    AgendaRound,
    AuditEntry,
    Community,
    Member,
    Practice,
    Prompt,
    Reply,
    WallEntry,
)
from storage.statuses import ItemKind, ModerationAction, PromptStatus

Hideable = type[Reply] | type[Practice] | type[WallEntry] | type[AgendaItem]
Row = Reply | Practice | WallEntry | AgendaItem

MODELS: dict[ItemKind, Hideable] = {
    ItemKind.ANSWER: Reply,
    ItemKind.PRACTICE: Practice,
    ItemKind.WALL: WallEntry,
    ItemKind.AGENDA: AgendaItem,
}


def visible(model: Hideable) -> ColumnElement[bool]:
    """The SQL clause keeping what no facilitator has hidden: ``.where(visible(Reply))``."""
    return model.hidden_at.is_(None)


async def shown_ranking(session: AsyncSession, ranking: Sequence[Any]) -> list[Any]:
    """A closed round's stored ranking without the items hidden or removed since."""
    ids = [int(row["item_id"]) for row in ranking if row.get("item_id") is not None]
    shown = set(
        (
            await session.scalars(
                select(AgendaItem.id).where(AgendaItem.id.in_(ids or [0]), visible(AgendaItem))
            )
        ).all()
    )
    return [row for row in ranking if int(row.get("item_id") or 0) in shown]


class ModerationError(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Item:
    kind: ItemKind
    row: Row

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def author_id(self) -> int:
        return self.row.member_id

    @property
    def number(self) -> int:
        """What a facilitator types: an agenda item's number in its round, else the id."""
        if isinstance(self.row, AgendaItem) and self.row.number is not None:
            return self.row.number
        return self.row.id

    @property
    def text(self) -> str:
        row = self.row
        if isinstance(row, WallEntry):
            return " · ".join(part for part in (row.passions, row.contributes, row.needs) if part)
        if isinstance(row, AgendaItem):
            return row.title
        return row.text


async def find(
    session: AsyncSession, community: Community, kind: ItemKind, number: int
) -> Item | None:
    """The item of that kind and number (:attr:`Item.number`), if it belongs to ``community``."""
    row: Row | None
    if kind is ItemKind.ANSWER:
        row = await session.scalar(
            select(Reply)
            .join(Member, Member.id == Reply.member_id)
            .where(Reply.id == number, Member.community_id == community.id)
        )
    elif kind is ItemKind.AGENDA:
        # The number /agenda shows, in the latest round that gave it.
        row = await session.scalar(
            select(AgendaItem)
            .join(AgendaRound, AgendaRound.id == AgendaItem.round_id)
            .where(AgendaItem.number == number, AgendaRound.community_id == community.id)
            .order_by(AgendaRound.id.desc())
            .limit(1)
        )
    else:
        model = Practice if kind is ItemKind.PRACTICE else WallEntry
        row = await session.scalar(
            select(model).where(model.id == number, model.community_id == community.id)
        )
    return Item(kind, row) if row is not None else None


def may(actor: Member | None, action: ModerationAction, item: Item) -> bool:
    """The operator and facilitators may do anything; a member may remove their own."""
    if actor is None or actor.is_facilitator:
        return True
    return action is ModerationAction.REMOVE and item.author_id == actor.id


async def apply(
    session: AsyncSession,
    community: Community,
    actor: Member | None,
    action: ModerationAction,
    item: Item,
    now: datetime,
) -> None:
    """Hide, restore or remove ``item`` and write it to the audit log.

    ``actor`` None is the operator. The caller checks :func:`may` first.
    """
    assert may(actor, action, item)
    row = item.row
    if action is ModerationAction.HIDE:
        if row.hidden_at is not None:
            raise ModerationError("moderate.already_hidden")
        row.hidden_at, row.hidden_by = now, actor.id if actor else None
    elif action is ModerationAction.RESTORE:
        if row.hidden_at is None:
            raise ModerationError("moderate.not_hidden")
        row.hidden_at = row.hidden_by = None
    else:
        await _remove(session, item)
    session.add(
        AuditEntry(
            community_id=community.id,
            actor_id=actor.id if actor else None,
            action=action,
            kind=item.kind,
            item_id=item.id,
            author_id=item.author_id,
            at=now,
        )
    )
    await session.flush()


async def _remove(session: AsyncSession, item: Item) -> None:
    row = item.row
    if isinstance(row, Reply):
        # The question counts as not answered again; a reminder asks it once more.
        prompt = await session.get(Prompt, row.prompt_id)
        if prompt is not None and prompt.status == PromptStatus.ANSWERED:
            prompt.status = PromptStatus.QUEUED
            prompt.answered_at = None
    await filing.forget(session, item.kind, item.id)
    await session.delete(row)
    await session.flush()


async def latest(
    session: AsyncSession, community: Community, kind: ItemKind, limit: int = 20
) -> list[Item]:
    """The community's latest items of ``kind``, hidden ones too, newest first (for the
    numbers a facilitator moderates by); agenda items of the latest round."""
    rows: Sequence[Row]
    if kind is ItemKind.ANSWER:
        rows = (
            await session.scalars(
                select(Reply)
                .join(Member, Member.id == Reply.member_id)
                .where(Member.community_id == community.id)
                .order_by(Reply.id.desc())
                .limit(limit)
            )
        ).all()
    elif kind is ItemKind.AGENDA:
        latest_round = (
            select(AgendaRound.id)
            .where(AgendaRound.community_id == community.id)
            .order_by(AgendaRound.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = (
            await session.scalars(
                select(AgendaItem)
                .where(AgendaItem.round_id == latest_round)
                .order_by(AgendaItem.number.desc(), AgendaItem.id.desc())
                .limit(limit)
            )
        ).all()
    elif kind is ItemKind.PRACTICE:
        rows = (
            await session.scalars(
                select(Practice)
                .where(Practice.community_id == community.id)
                .order_by(Practice.id.desc())
                .limit(limit)
            )
        ).all()
    else:
        rows = (
            await session.scalars(
                select(WallEntry)
                .where(WallEntry.community_id == community.id)
                .order_by(WallEntry.id.desc())
                .limit(limit)
            )
        ).all()
    return [Item(kind, row) for row in rows]


async def audit_log(
    session: AsyncSession, community_id: int | None = None, limit: int = 200
) -> Sequence[AuditEntry]:
    """The latest moderation, newest first; of one community or of all."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if community_id is not None:
        query = query.where(AuditEntry.community_id == community_id)
    return (await session.scalars(query)).all()
