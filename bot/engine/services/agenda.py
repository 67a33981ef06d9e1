"""The co-built agenda: members propose items, vote on them, and the ranking is kept.

A meeting's agenda goes through three phases, kept in :class:`AgendaRound`:
proposals, voting, closed. Votes are one row per member and item, so a repeated
press or a re-delivered poll answer never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services.brief import shown_name
from bot.engine.services.messenger import Messenger
from bot.engine.texts import Texts
from bot.messages import Choice, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope, row_to_message
from storage.models import (
    AgendaItem,
    AgendaRound,
    AgendaVote,
    Community,
    Meeting,
    Member,
    OutboxMessage,
)
from storage.statuses import ContextKind, OutboxStatus, RoundStatus

MAX_TITLE_LENGTH = 200
MAX_DETAIL_LENGTH = 1000
# A choice label on the most restrictive platform (WhatsApp list rows: 24 chars).
LABEL_LENGTH = 60


class AgendaError(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class Standing:
    """One live item with its votes, in proposal order (``number`` is what members type)."""

    number: int
    item: AgendaItem
    proposer: Member
    votes: int
    voters: int


async def round_for(session: AsyncSession, meeting: Meeting) -> AgendaRound | None:
    return await session.scalar(select(AgendaRound).where(AgendaRound.meeting_id == meeting.id))


async def open_round(
    session: AsyncSession, community: Community, meeting: Meeting, now: datetime
) -> tuple[AgendaRound, bool]:
    """The round of ``meeting``, created in the proposals phase; True when it was created."""
    existing = await round_for(session, meeting)
    if existing is not None:
        return existing, False
    created = AgendaRound(
        community_id=community.id,
        meeting_id=meeting.id,
        status=RoundStatus.PROPOSALS,
        opened_at=now,
    )
    session.add(created)
    await session.flush()
    return created, True


async def live_items(session: AsyncSession, agenda: AgendaRound) -> list[AgendaItem]:
    rows = await session.scalars(
        select(AgendaItem)
        .where(
            AgendaItem.round_id == agenda.id,
            AgendaItem.withdrawn_at.is_(None),
            AgendaItem.merged_into_id.is_(None),
        )
        .order_by(AgendaItem.created_at, AgendaItem.id)
    )
    return list(rows.all())


async def standings(session: AsyncSession, agenda: AgendaRound) -> list[Standing]:
    items = await live_items(session, agenda)
    votes = (
        await session.scalars(
            select(AgendaVote).where(AgendaVote.item_id.in_([i.id for i in items] or [0]))
        )
    ).all()
    result = []
    for number, item in enumerate(items, start=1):
        mine = [v for v in votes if v.item_id == item.id and v.dots > 0]
        proposer = await session.get(Member, item.member_id)
        assert proposer is not None
        result.append(
            Standing(
                number, item, proposer, sum(v.dots for v in mine), len({v.member_id for v in mine})
            )
        )
    return result


def ranked(rows: Sequence[Standing]) -> list[Standing]:
    """Most votes first; a tie goes to the earlier proposal (``number`` is proposal order)."""
    return sorted(rows, key=lambda s: (-s.votes, s.number))


def check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise AgendaError("error.too_long", limit=limit)


async def add_item(
    session: AsyncSession, agenda: AgendaRound, member: Member, text: str, now: datetime
) -> AgendaItem:
    """``text`` is the title, optionally followed by a line of detail; stored as sent."""
    if agenda.status == RoundStatus.CLOSED:
        raise AgendaError("agenda.closed_already")
    title, _, detail = text.strip().partition("\n")
    if not title.strip():
        raise AgendaError("agenda.usage")
    check_length(title, MAX_TITLE_LENGTH)
    check_length(detail, MAX_DETAIL_LENGTH)
    item = AgendaItem(
        round_id=agenda.id,
        member_id=member.id,
        title=title.strip(),
        detail=detail.strip() or None,
        created_at=now,
    )
    session.add(item)
    await session.flush()
    return item


async def item_by_number(session: AsyncSession, agenda: AgendaRound, number: int) -> AgendaItem:
    items = await live_items(session, agenda)
    if not 1 <= number <= len(items):
        raise AgendaError("agenda.no_such", count=len(items))
    return items[number - 1]


async def withdraw(
    session: AsyncSession, agenda: AgendaRound, member: Member, number: int, now: datetime
) -> AgendaItem:
    if agenda.status == RoundStatus.CLOSED:
        raise AgendaError("agenda.closed_already")
    item = await item_by_number(session, agenda, number)
    if item.member_id != member.id:
        raise AgendaError("agenda.not_yours")
    item.withdrawn_at = now
    return item


async def _votes_of(
    session: AsyncSession, member: Member, item_ids: Sequence[int]
) -> dict[int, AgendaVote]:
    rows = await session.scalars(
        select(AgendaVote).where(
            AgendaVote.member_id == member.id, AgendaVote.item_id.in_(list(item_ids) or [0])
        )
    )
    return {v.item_id: v for v in rows.all()}


async def set_votes(
    session: AsyncSession,
    agenda: AgendaRound,
    settings: CommunitySettings,
    member: Member,
    dots: dict[int, int],
    now: datetime,
    *,
    scope: Sequence[int] | None = None,
) -> None:
    """Make the member's votes on the items in ``scope`` (default: all) exactly ``dots``.

    Approval voting keeps one vote per item; dot voting keeps at most
    ``settings.agenda_dots`` dots in all.
    """
    if agenda.status != RoundStatus.VOTING:
        raise AgendaError("agenda.not_voting")
    live = {i.id for i in await live_items(session, agenda)}
    if any(item_id not in live for item_id in dots):
        raise AgendaError("agenda.no_such", count=len(live))
    if settings.agenda_voting == "approval":
        dots = {item_id: 1 for item_id, count in dots.items() if count > 0}
    in_scope = set(scope) if scope is not None else live
    current = await _votes_of(session, member, sorted(live))
    kept = {i: v.dots for i, v in current.items() if i not in in_scope}
    if (
        settings.agenda_voting == "dots"
        and sum(kept.values()) + sum(dots.values()) > settings.agenda_dots
    ):
        raise AgendaError("agenda.too_many_dots", dots=settings.agenda_dots)
    for item_id in in_scope:
        vote = current.get(item_id)
        wanted = dots.get(item_id, 0)
        if wanted <= 0:
            if vote is not None:
                await session.delete(vote)
        elif vote is None:
            session.add(AgendaVote(item_id=item_id, member_id=member.id, dots=wanted, voted_at=now))
        else:
            vote.dots, vote.voted_at = wanted, now
    await session.flush()


async def toggle_vote(
    session: AsyncSession,
    agenda: AgendaRound,
    settings: CommunitySettings,
    member: Member,
    item_id: int,
    now: datetime,
) -> None:
    """A button press: approval flips the vote; dot voting adds one dot (or takes them
    all back once the member has none left)."""
    current = await _votes_of(session, member, [i.id for i in await live_items(session, agenda)])
    mine = {i: v.dots for i, v in current.items()}
    if settings.agenda_voting == "approval":
        mine[item_id] = 0 if mine.get(item_id) else 1
    elif sum(mine.values()) < settings.agenda_dots:
        mine[item_id] = mine.get(item_id, 0) + 1
    else:
        mine[item_id] = 0
    await set_votes(session, agenda, settings, member, mine, now)


async def my_votes(session: AsyncSession, agenda: AgendaRound, member: Member) -> dict[int, int]:
    items = await live_items(session, agenda)
    votes = await _votes_of(session, member, [i.id for i in items])
    numbers = {item.id: n for n, item in enumerate(items, start=1)}
    return {numbers[i]: v.dots for i, v in votes.items() if i in numbers}


async def merge(
    session: AsyncSession,
    agenda: AgendaRound,
    settings: CommunitySettings,
    keep_number: int,
    drop_number: int,
) -> tuple[AgendaItem, AgendaItem]:
    """Fold item ``drop`` into ``keep``: a member who voted for both counts once
    (approval) or keeps all the dots they placed (dot voting, capped by their budget)."""
    if agenda.status == RoundStatus.CLOSED:
        raise AgendaError("agenda.closed_already")
    if keep_number == drop_number:
        raise AgendaError("agenda.merge_same")
    keep = await item_by_number(session, agenda, keep_number)
    drop = await item_by_number(session, agenda, drop_number)
    kept = {
        v.member_id: v
        for v in (await session.scalars(select(AgendaVote).where(AgendaVote.item_id == keep.id)))
    }
    for vote in (
        await session.scalars(select(AgendaVote).where(AgendaVote.item_id == drop.id))
    ).all():
        existing = kept.get(vote.member_id)
        if existing is None:
            session.add(
                AgendaVote(
                    item_id=keep.id,
                    member_id=vote.member_id,
                    dots=vote.dots,
                    voted_at=vote.voted_at,
                )
            )
        elif settings.agenda_voting == "dots":
            existing.dots += vote.dots
    await session.execute(delete(AgendaVote).where(AgendaVote.item_id == drop.id))
    drop.merged_into_id = keep.id
    await session.flush()
    return keep, drop


async def close(session: AsyncSession, agenda: AgendaRound, now: datetime) -> list[Standing]:
    """Close voting and keep the ranking with the meeting."""
    rows = ranked(await standings(session, agenda))
    agenda.status = RoundStatus.CLOSED
    agenda.closed_at = now
    agenda.ranking = [
        {
            "rank": rank,
            "item_id": s.item.id,
            "title": s.item.title,
            "votes": s.votes,
            "voters": s.voters,
            "proposer_id": s.proposer.id,
        }
        for rank, s in enumerate(rows, start=1)
    ]
    await session.flush()
    return rows


def ties(rows: Sequence[Standing]) -> set[int]:
    """Item ids whose vote count is shared with another item (shown as broken ties)."""
    counts: dict[int, int] = {}
    for s in rows:
        counts[s.votes] = counts.get(s.votes, 0) + 1
    return {s.item.id for s in rows if counts[s.votes] > 1}


def render_ranking(
    texts: Texts, language: str, meeting: Meeting, rows: Sequence[Standing], *, dots: bool = False
) -> str:
    """The ranking as posted when voting closes; ``dots`` counts dots instead of votes."""
    tied = ties(rows)
    proposers: list[str] = []
    for s in rows:
        name = shown_name(s.proposer, texts, language)
        if name not in proposers:
            proposers.append(name)
    return texts.render(
        "agenda.ranking",
        language,
        meeting=meeting.title,
        rows=[(rank, s.item.title, s.votes, s.item.id in tied) for rank, s in enumerate(rows, 1)],
        any_tie=bool(tied),
        proposers=proposers,
        dots=dots,
    )


def ballot_chunks(
    messenger: Messenger, rows: Sequence[Standing], platforms: Sequence[str]
) -> list[list[Standing]]:
    """Split a ballot so that every running platform can show each part."""
    size = len(rows) or 1
    for platform in platforms:
        caps = messenger.outbox.capabilities(platform)
        limits = [
            n
            for n in (
                caps.max_poll_options if caps.native_polls else 0,
                caps.max_buttons if caps.buttons else 0,
            )
            if n > 0
        ]
        if limits:
            size = min(size, max(limits))
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


def ballot_choices(rows: Sequence[Standing]) -> tuple[Choice, ...]:
    # The ballot's text lists the items under these numbers: members type them.
    return tuple(
        Choice(id=str(s.item.id), label=s.item.title[:LABEL_LENGTH], number=s.number) for s in rows
    )


async def post_ballot(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    key: str,
) -> int:
    """Post the ballot to the community, split to fit each platform's limits."""
    rows = await standings(session, agenda)
    if not rows:
        return 0
    approval = settings.agenda_voting == "approval"
    # A native poll shows its counts to whoever voted; hidden results need buttons.
    poll = approval and settings.agenda_results_while_voting
    chunks = ballot_chunks(messenger, rows, messenger.platforms)
    posted = 0
    for part, chunk in enumerate(chunks, start=1):
        text = messenger.t(
            community,
            None,
            "agenda.ballot",
            meeting=meeting.title,
            approval=approval,
            dots=settings.agenda_dots,
            part=part,
            parts=len(chunks),
            items=[(s.number, s.item.title, s.item.detail) for s in chunk],
        )
        posted += await messenger.to_community(
            session,
            community,
            f"{key}:{part}",
            text,
            choices=ballot_choices(chunk),
            context={
                "kind": ContextKind.AGENDA_BALLOT,
                "meeting_id": meeting.id,
                "round_id": agenda.id,
                "part": part,
                "parts": len(chunks),
            },
            poll=poll,
            multi_select=True,
        )
    return posted


async def refresh_ballots(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    stamp: str,
) -> int:
    """Show the current counts on every ballot posted as buttons in a group (a native
    poll shows its own): each is edited in place, its buttons kept, as members vote."""
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.community_id == community.id,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.conversation_kind == "group",
            OutboxMessage.platform_poll_id.is_(None),
            OutboxMessage.platform_message_id.is_not(None),
        )
        .order_by(OutboxMessage.id)
    )
    latest: dict[tuple[str, str], OutboxMessage] = {}
    for row in rows:
        context = row.context or {}
        if (
            context.get("kind") == ContextKind.AGENDA_BALLOT
            and context.get("round_id") == agenda.id
            and row.choices
            and row.platform_message_id
            and messenger.outbox.capabilities(row.platform).edits
            and messenger.outbox.capabilities(row.platform).buttons
        ):
            latest[(row.platform, row.platform_message_id)] = row
    if not latest:
        return 0
    standing = {s.item.id: s for s in await standings(session, agenda)}
    voters = len(
        set(
            (
                await session.scalars(
                    select(AgendaVote.member_id).where(
                        AgendaVote.item_id.in_(list(standing) or [0]), AgendaVote.dots > 0
                    )
                )
            ).all()
        )
    )
    envelopes = []
    for (_, message_id), row in latest.items():
        chunk = [standing[int(c["id"])] for c in row.choices or [] if int(c["id"]) in standing]
        if not chunk:
            continue
        text = messenger.t(
            community,
            None,
            "agenda.ballot",
            meeting=meeting.title,
            approval=settings.agenda_voting == "approval",
            dots=settings.agenda_dots,
            part=int(row.context.get("part", 1)),
            parts=int(row.context.get("parts", 1)),
            items=[(s.number, s.item.title, s.item.detail) for s in chunk],
            voters=voters,
            **(
                {"counts": {s.number: s.votes for s in chunk}}
                if settings.agenda_results_while_voting
                else {}
            ),
        )
        shown = row_to_message(row)
        envelopes.append(
            Envelope(
                f"ballot-live:{row.id}:{stamp}",
                OutgoingMessage(
                    address=shown.address,
                    text=text,
                    choices=ballot_choices(chunk),
                    multi_select=True,
                    poll=shown.poll,
                    edit_of=message_id,
                ),
                community_id=community.id,
                context=dict(row.context),
            )
        )
    return await messenger.outbox.put(session, envelopes)


async def show_selection(
    session: AsyncSession,
    messenger: Messenger,
    row: OutboxMessage,
    member: Member,
    agenda: AgendaRound,
    stamp: str,
) -> bool:
    """A ballot of the member's own (sent to them privately, as buttons) shows their
    selection: each chosen item's button is marked, with one dot per dot placed."""
    caps = messenger.outbox.capabilities(row.platform)
    if (
        row.conversation_kind != ConversationKind.DM.value
        or row.platform_poll_id is not None
        or not row.platform_message_id
        or not row.choices
        or not (caps.edits and caps.buttons)
    ):
        return False
    titles = {item.id: item.title for item in await live_items(session, agenda)}
    mine = {i: v.dots for i, v in (await _votes_of(session, member, list(titles))).items()}
    choices = []
    for choice in row.choices:
        item_id = int(choice["id"]) if str(choice["id"]).isdigit() else 0
        # The row pressed may be an earlier edit: labels start again from the titles.
        label = titles.get(item_id, str(choice["label"]))[:LABEL_LENGTH]
        dots = mine.get(item_id, 0)
        mark = ("✓ " if dots == 1 else "●" * dots + " ") if dots else ""
        choices.append(
            Choice(id=str(choice["id"]), label=mark + label, number=choice.get("number"))
        )
    shown = row_to_message(row)
    return await messenger.outbox.put_one(
        session,
        Envelope(
            f"ballot-mine:{row.id}:{stamp}",
            OutgoingMessage(
                address=shown.address,
                text=shown.text,
                choices=tuple(choices),
                multi_select=True,
                edit_of=row.platform_message_id,
            ),
            community_id=row.community_id,
            member_id=member.id,
            context=dict(row.context),
        ),
    )


async def announce_proposals(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    settings: CommunitySettings,
) -> int:
    return await messenger.to_community(
        session,
        community,
        f"agenda-open:{meeting.id}",
        messenger.t(
            community,
            None,
            "agenda.proposals_open",
            meeting=meeting.title,
            days=settings.agenda_open_days_before - settings.agenda_vote_days_before,
        ),
    )


async def start_voting(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    settings: CommunitySettings,
    now: datetime,
) -> AgendaRound:
    """Open voting (opening proposals first if nobody did) and post the ballot."""
    agenda, _ = await open_round(session, community, meeting, now)
    if agenda.status != RoundStatus.PROPOSALS:
        return agenda
    agenda.status = RoundStatus.VOTING
    agenda.voting_at = now
    await session.flush()
    # With nothing proposed there is nothing to vote on, and nothing worth a message.
    await post_ballot(
        session, messenger, community, meeting, agenda, settings, f"agenda-ballot:{meeting.id}"
    )
    return agenda


async def finish(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    now: datetime,
) -> list[Standing]:
    """Close voting, keep the ranking, stop the native polls and post the ranking."""
    rows = await close(session, agenda, now)
    await stop_polls(session, messenger, community, agenda)
    await messenger.to_community(
        session,
        community,
        f"agenda-ranking:{meeting.id}",
        render_ranking(
            messenger.texts,
            community.language,
            meeting,
            rows,
            dots=CommunitySettings.of(community.settings).agenda_voting == "dots",
        ),
    )
    return rows


async def stop_polls(
    session: AsyncSession, messenger: Messenger, community: Community, agenda: AgendaRound
) -> int:
    """Close the native polls that carried this round's ballot, so members see it ended."""
    ballots = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.community_id == community.id,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.platform_poll_id.is_not(None),
        )
    )
    envelopes = [
        Envelope(
            f"agenda-stop-poll:{row.id}",
            OutgoingMessage(
                address=row_to_message(row).address,
                text="",
                edit_of=row.platform_message_id,
                close_poll=True,
            ),
            community_id=community.id,
        )
        for row in ballots
        if row.context.get("kind") == ContextKind.AGENDA_BALLOT
        and row.context.get("round_id") == agenda.id
    ]
    return await messenger.outbox.put(session, envelopes)
