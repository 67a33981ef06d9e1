"""The co-built agenda: members propose items, vote on them, and the ranking is kept.

A meeting's agenda goes through three phases, kept in :class:`AgendaRound`:
proposals, voting, closed. Votes are one row per member and item, so a repeated
press or a re-delivered poll answer never counts twice. Each item keeps the number it
was given when proposed (``AgendaItem.number``): a withdrawn or merged item leaves a
gap, and the numbers members saw keep meaning the same items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import i18n
from bot.engine.community_settings import CommunitySettings
from bot.engine.services.brief import shown_name
from bot.engine.services.messenger import Messenger
from bot.engine.services.moderation import visible
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
    """One live item with its votes, in proposal order (``number`` is what members type).

    ``merged`` are the proposers of the items folded into this one, thanked with it.
    """

    number: int
    item: AgendaItem
    proposer: Member
    votes: int
    voters: int
    merged: tuple[Member, ...] = ()


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
            visible(AgendaItem),
        )
        .order_by(AgendaItem.number, AgendaItem.id)
    )
    return list(rows.all())


async def _merged_proposers(session: AsyncSession, agenda: AgendaRound) -> dict[int, list[Member]]:
    """For each item, the proposers of the items merged into it (through any chain)."""
    merged = (
        await session.scalars(
            select(AgendaItem)
            .where(AgendaItem.round_id == agenda.id, AgendaItem.merged_into_id.is_not(None))
            .order_by(AgendaItem.number, AgendaItem.id)
        )
    ).all()
    into = {item.id: item.merged_into_id for item in merged}
    found: dict[int, list[Member]] = {}
    for item in merged:
        root = item.merged_into_id
        seen = {item.id}
        while root in into and root not in seen:
            seen.add(root)
            root = into[root]
        proposer = await session.get(Member, item.member_id)
        if root is not None and proposer is not None:
            found.setdefault(root, []).append(proposer)
    return found


async def standings(session: AsyncSession, agenda: AgendaRound) -> list[Standing]:
    items = await live_items(session, agenda)
    votes = (
        await session.scalars(
            select(AgendaVote).where(AgendaVote.item_id.in_([i.id for i in items] or [0]))
        )
    ).all()
    merged = await _merged_proposers(session, agenda)
    # An anonymous ballot's votes are gone once closed: its tallies are the ranking's.
    kept = {
        int(r["item_id"]): (int(r["votes"]), int(r["voters"]))
        for r in (
            agenda.ranking if agenda.anonymous and agenda.status == RoundStatus.CLOSED else []
        )
    }
    result = []
    for item in items:
        mine = [v for v in votes if v.item_id == item.id and v.dots > 0]
        proposer = await session.get(Member, item.member_id)
        assert proposer is not None
        tally, voters = kept.get(
            item.id, (sum(v.dots for v in mine), len({v.member_id for v in mine}))
        )
        result.append(
            Standing(
                item.number or 0,
                item,
                proposer,
                tally,
                voters,
                tuple(merged.get(item.id, ())),
            )
        )
    return result


def counts_shown(agenda: AgendaRound, settings: CommunitySettings) -> bool:
    """Whether anyone may see the votes so far: always once voting closed, while it is
    open only when the community shows results during voting."""
    return agenda.status == RoundStatus.CLOSED or settings.agenda_results_while_voting


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
    # Withdrawn and merged items keep their numbers: the next one is never reused.
    last = await session.scalar(
        select(func.max(AgendaItem.number)).where(AgendaItem.round_id == agenda.id)
    )
    item = AgendaItem(
        round_id=agenda.id,
        member_id=member.id,
        title=title.strip(),
        detail=detail.strip() or None,
        number=(last or 0) + 1,
        created_at=now,
    )
    session.add(item)
    await session.flush()
    return item


def no_such(items: Sequence[AgendaItem], number: int) -> AgendaError:
    return AgendaError(
        "agenda.no_such", number=number, numbers=[str(item.number) for item in items]
    )


async def item_by_number(session: AsyncSession, agenda: AgendaRound, number: int) -> AgendaItem:
    """The live item members know as ``number``."""
    items = await live_items(session, agenda)
    found = next((item for item in items if item.number == number), None)
    if found is None:
        raise no_such(items, number)
    return found


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
    items = await live_items(session, agenda)
    live = {i.id for i in items}
    if any(item_id not in live for item_id in dots):
        raise AgendaError("agenda.gone", numbers=[str(item.number) for item in items])
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
    numbers = {item.id: item.number or 0 for item in items}
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
    """Close voting and keep the ranking with the meeting.

    An anonymous ballot's votes are deleted here: the ranking keeps each item's tally
    and number of voters, and nothing says any longer who voted for what.
    """
    rows = ranked(await standings(session, agenda))
    agenda.status = RoundStatus.CLOSED
    agenda.closed_at = now
    agenda.ranking = [
        {
            "rank": rank,
            "item_id": s.item.id,
            "number": s.number,
            "title": s.item.title,
            "votes": s.votes,
            "voters": s.voters,
            "proposer_id": s.proposer.id,
            "merged_proposer_ids": [m.id for m in s.merged],
        }
        for rank, s in enumerate(rows, start=1)
    ]
    if agenda.anonymous:
        items = select(AgendaItem.id).where(AgendaItem.round_id == agenda.id)
        await session.execute(delete(AgendaVote).where(AgendaVote.item_id.in_(items)))
    await session.flush()
    return rows


def closes_at(
    community: Community, meeting: Meeting, settings: CommunitySettings, now: datetime
) -> datetime | None:
    """When the timetable closes voting (the agenda-close step), None when that time has
    passed (voting opened late by hand: a facilitator closes it)."""
    zone = ZoneInfo(community.timezone)
    day = meeting.starts_at.astimezone(zone).date() - timedelta(
        days=settings.agenda_close_days_before
    )
    moment = datetime.combine(day, settings.send_at, tzinfo=zone).astimezone(UTC)
    return moment if moment > now else None


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
        for member in (s.proposer, *s.merged):
            name = shown_name(member, texts, language)
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


def ballot_text(
    messenger: Messenger,
    community: Community,
    member: Member | None,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    chunk: Sequence[Standing],
    now: datetime,
    *,
    part: int = 1,
    parts: int = 1,
    added: bool = False,
    **live: Any,
) -> str:
    """A ballot (or a part of one) in the reader's language, with when voting closes in
    their timezone (the community's for a group post)."""
    closing = closes_at(community, meeting, settings, now)
    return messenger.t(
        community,
        member,
        "agenda.ballot",
        meeting=meeting.title,
        approval=settings.agenda_voting == "approval",
        dots=settings.agenda_dots,
        part=part,
        parts=parts,
        added=added,
        closes=i18n.local(closing, community, member) if closing is not None else None,
        anonymous=agenda.anonymous,
        items=[(s.number, s.item.title, s.item.detail) for s in chunk],
        **live,
    )


def ballot_context(meeting: Meeting, agenda: AgendaRound, **more: Any) -> dict[str, Any]:
    """What a ballot message keeps: the meeting and round it belongs to."""
    return {
        "kind": ContextKind.AGENDA_BALLOT,
        "meeting_id": meeting.id,
        "round_id": agenda.id,
        **more,
    }


async def post_ballot(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    key: str,
    now: datetime,
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
        posted += await messenger.to_community(
            session,
            community,
            f"{key}:{part}",
            ballot_text(
                messenger,
                community,
                None,
                meeting,
                agenda,
                settings,
                chunk,
                now,
                part=part,
                parts=len(chunks),
            ),
            choices=ballot_choices(chunk),
            context=ballot_context(meeting, agenda, part=part, parts=len(chunks)),
            # A poll needs two options at least.
            poll=poll and len(chunk) > 1,
            multi_select=True,
        )
    return posted


async def _group_ballots(
    session: AsyncSession, messenger: Messenger, community: Community, agenda: AgendaRound
) -> dict[tuple[str, str], OutboxMessage]:
    """The latest version of each ballot posted as buttons in a group, on a platform
    that can edit it: ``(platform, message id) -> row``."""
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
    return latest


def _edited(
    row: OutboxMessage,
    key: str,
    choices: tuple[Choice, ...],
    *,
    text: str | None = None,
    member_id: int | None = None,
) -> Envelope:
    """An edit of the ballot ``row`` in place: its new buttons, and its text when given."""
    shown = row_to_message(row)
    return Envelope(
        key,
        OutgoingMessage(
            address=shown.address,
            text=shown.text if text is None else text,
            choices=choices,
            multi_select=True,
            poll=shown.poll,
            edit_of=row.platform_message_id,
        ),
        community_id=row.community_id,
        member_id=member_id,
        context=dict(row.context),
    )


async def refresh_ballots(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    stamp: str,
    now: datetime,
) -> int:
    """Show the current counts on every ballot posted as buttons in a group (a native
    poll shows its own): each is edited in place, its buttons kept, as members vote."""
    latest = await _group_ballots(session, messenger, community, agenda)
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
    for row in latest.values():
        chunk = [standing[int(c["id"])] for c in row.choices or [] if int(c["id"]) in standing]
        if not chunk:
            continue
        text = ballot_text(
            messenger,
            community,
            None,
            meeting,
            agenda,
            settings,
            chunk,
            now,
            part=int(row.context.get("part", 1)),
            parts=int(row.context.get("parts", 1)),
            added=bool(row.context.get("added", False)),
            voters=voters,
            **(
                {"counts": {s.number: s.votes for s in chunk}}
                if settings.agenda_results_while_voting
                else {}
            ),
        )
        envelopes.append(
            _edited(row, f"ballot-live:{row.id}:{stamp}", ballot_choices(chunk), text=text)
        )
    return await messenger.outbox.put(session, envelopes)


def _room(messenger: Messenger, platform: str) -> int:
    """How many choices one ballot message can carry on ``platform`` (0: no limit)."""
    caps = messenger.outbox.capabilities(platform)
    return caps.max_buttons if caps.buttons else 0


async def add_to_ballot(
    session: AsyncSession,
    messenger: Messenger,
    community: Community,
    meeting: Meeting,
    agenda: AgendaRound,
    settings: CommunitySettings,
    item: AgendaItem,
    now: datetime,
) -> int:
    """An item proposed while voting is open joins the ballot: the last part posted in
    each group is edited to carry it where the platform can edit and has room for one
    more button; everywhere else (native polls, no edits, a full part, members reached by
    direct message) it is posted as an addition to the ballot."""
    standing = {s.item.id: s for s in await standings(session, agenda)}
    new = standing.get(item.id)
    if new is None:
        return 0
    if len(standing) == 1:
        # Nothing was on the ballot when voting opened: this is its first item.
        key = f"agenda-ballot:{meeting.id}:item{item.id}"
        return await post_ballot(session, messenger, community, meeting, agenda, settings, key, now)
    last: dict[tuple[str, str], OutboxMessage] = {}
    for row in (await _group_ballots(session, messenger, community, agenda)).values():
        place = (row.platform, row.conversation_id)
        if place not in last or int(row.context.get("part", 1)) >= int(
            last[place].context.get("part", 1)
        ):
            last[place] = row
    envelopes = []
    edited: set[tuple[str, str]] = set()
    for (platform, conversation), row in last.items():
        chunk = [standing[int(c["id"])] for c in row.choices or [] if int(c["id"]) in standing]
        room = _room(messenger, platform)
        if room and len(chunk) + 1 > room:
            continue
        chunk.append(new)
        text = ballot_text(
            messenger,
            community,
            None,
            meeting,
            agenda,
            settings,
            chunk,
            now,
            part=int(row.context.get("part", 1)),
            parts=int(row.context.get("parts", 1)),
            added=bool(row.context.get("added", False)),
        )
        envelopes.append(
            _edited(row, f"ballot-add:{row.id}:item{item.id}", ballot_choices(chunk), text=text)
        )
        edited.add((platform, conversation))
    sent = await messenger.outbox.put(session, envelopes)
    return sent + await messenger.to_community(
        session,
        community,
        f"agenda-ballot:{meeting.id}:item{item.id}",
        ballot_text(messenger, community, None, meeting, agenda, settings, [new], now, added=True),
        choices=ballot_choices([new]),
        context=ballot_context(meeting, agenda, added=True),
        multi_select=True,
        skip_groups=edited,
    )


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
    return await messenger.outbox.put_one(
        session, _edited(row, f"ballot-mine:{row.id}:{stamp}", tuple(choices), member_id=member.id)
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
    agenda.anonymous = settings.agenda_anonymous
    await session.flush()
    # With nothing proposed there is nothing to vote on, and nothing worth a message.
    await post_ballot(
        session,
        messenger,
        community,
        meeting,
        agenda,
        settings,
        f"agenda-ballot:{meeting.id}",
        now,
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
