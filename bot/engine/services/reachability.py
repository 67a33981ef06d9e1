"""Delivery policy: who can be reached where, and what to send when they cannot.

The delivery loop (``bot.runtime.delivery``) only claims, sends and records; it asks
this service how to arrange each claimed batch, and hands it the messages that were
held, later reported failed, or whose address turned out unreachable. Texts are
rendered in the member's language (or the community's, for a group).

For a member whose reply window is closed (WhatsApp's 24 hours), the re-opening
message goes first and is never held by the window it opens; everything else waits
(``held``) until the member writes, at most one re-opener a day asks them to. What
waited is checked again when it is released: a question whose meeting has started, a
ballot whose voting closed, a re-opener with nothing left to open are ``expired``
rather than sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import Capabilities, DeliveryFailure, is_account_gone, is_blocked
from bot.engine.services import costs, directory, nudges
from bot.engine.texts import Texts
from bot.messages import ConversationKind, OutgoingMessage
from bot.runtime.clock import Clock
from bot.runtime.delivery import Arrangement
from bot.runtime.outbox import Envelope, Outbox, row_to_message
from storage.models import (
    AgendaRound,
    Community,
    Identity,
    Meeting,
    Member,
    OutboxMessage,
    Prompt,
)
from storage.statuses import ContextKind, OutboxStatus, PromptStatus, RoundStatus

log = logging.getLogger(__name__)

# A window closing within this margin counts as closed: the message would arrive late.
WINDOW_MARGIN = timedelta(minutes=1)
# A weekly digest that waited longer than this is superseded by the next one.
DIGEST_LIFE = timedelta(days=7)
# A message reported failed for a reason worth retrying is tried again after this.
FAILED_RETRY = timedelta(seconds=30)


def is_reopener(row: OutboxMessage) -> bool:
    return bool((row.options or {}).get("reopener"))


# How the texts of messages sent as one are joined (as the delivery loop joins them).
MERGE_SEPARATOR = "\n\n"


def _released(row: OutboxMessage) -> bool:
    """Written earlier than it became due: released after waiting (held, or deferred)."""
    return row.next_attempt_at > row.created_at


def _mergeable(row: OutboxMessage) -> bool:
    """A plain text: no choices, file, edit, reply, mention or re-opener."""
    return (
        row.conversation_kind == ConversationKind.DM.value
        and not row.choices
        and not any((row.options or {}).values())
    )


class Reached(StrEnum):
    """How far a meeting's questions got to one member (the best of their questions)."""

    READ = "read"  # the platform reported one of them read
    RECEIVED = "received"  # delivered to their phone or app, not (yet) reported read
    SENT = "sent"  # the platform accepted it and reported nothing more
    WAITING = "waiting"  # still queued, or held for the member's reply window
    UNREACHABLE = "unreachable"  # could not be reached on any platform


@dataclass(frozen=True, slots=True)
class MemberReach:
    member: Member
    reached: Reached


_RANK = [Reached.READ, Reached.RECEIVED, Reached.SENT, Reached.WAITING, Reached.UNREACHABLE]


def _reached(row: OutboxMessage) -> Reached:
    if row.read_at is not None:
        return Reached.READ
    if row.delivered_at is not None:
        return Reached.RECEIVED
    if row.status == OutboxStatus.SENT:
        return Reached.SENT
    if row.status in (OutboxStatus.UNREACHABLE, OutboxStatus.DEAD):
        return Reached.UNREACHABLE
    return Reached.WAITING


async def question_reach(session: AsyncSession, meeting_id: int) -> list[MemberReach]:
    """For each member asked the meeting's questions, whether they received them, read
    them or could not be reached, read from the outbox rows that carried them (a
    question re-sent on another platform counts there), in the order they were asked.

    An expired row (its meeting started while it waited) counts as never received; a
    member none of whose messages got through and none of whose addresses works is
    unreachable.
    """
    prompts = (
        await session.scalars(
            select(Prompt)
            .where(Prompt.meeting_id == meeting_id, Prompt.asked_at.is_not(None))
            .order_by(Prompt.asked_at, Prompt.id)
        )
    ).all()
    owner = {prompt.id: prompt.member_id for prompt in prompts}
    order = list(dict.fromkeys(prompt.member_id for prompt in prompts))
    best: dict[int, Reached] = {}
    for start in range(0, len(order), 500):
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.member_id.in_(order[start : start + 500]),
                OutboxMessage.idempotency_key.startswith("prompt:"),
            )
        )
        for row in rows:
            named = row.idempotency_key.split(":")[1]
            member_id = row.member_id
            if member_id is None or not named.isdigit() or owner.get(int(named)) != member_id:
                continue
            reached = _reached(row)
            if row.status == OutboxStatus.EXPIRED:
                reached = Reached.UNREACHABLE
            current = best.get(member_id)
            if current is None or _RANK.index(reached) < _RANK.index(current):
                best[member_id] = reached
    members = {
        member.id: member
        for member in (
            await session.scalars(select(Member).where(Member.id.in_(order or [0])))
        ).all()
    }
    found = []
    for member_id in order:
        member = members.get(member_id)
        if member is None:
            continue
        reached = best.get(member_id, Reached.UNREACHABLE)
        if reached is Reached.WAITING:
            await session.refresh(member, ["identities"])
            if member.identities and all(i.unreachable_at for i in member.identities):
                reached = Reached.UNREACHABLE
        found.append(MemberReach(member, reached))
    return found


class Reachability:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
        capabilities: Mapping[str, Capabilities],
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self._capabilities = capabilities

    # -- arranging a batch -------------------------------------------------------------

    async def arrange(self, rows: Sequence[OutboxMessage]) -> Arrangement:
        """Per conversation: drop what is past its useful life; when the window is
        closed send the re-opener alone, first, and hold the rest; when it is open, a
        re-opener has nothing to open and everything else goes out in order."""
        now = self._clock.now()
        groups: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in sorted(rows, key=lambda r: r.id):
            groups.setdefault((row.platform, row.conversation_id), []).append(row)
        async with self._sessions() as session:
            stale = await self._past_useful_life(session, rows, now)
            closed = await self._closed(session, rows, now)
            allowance = await self._template_allowance(session, rows, stale, closed, now)
            waiting = await self._held_in(
                session,
                {
                    (row.platform, row.conversation_id)
                    for row in rows
                    if is_reopener(row) and (row.platform, row.conversation_id) in closed
                },
            )
        arrangement = Arrangement()
        capped: dict[int, int] = {}
        # Conversations whose template waits for the cap: what they hold may go elsewhere.
        waits_for_cap: dict[tuple[str, str], list[OutboxMessage]] = {}
        for key, group in groups.items():
            live = []
            for row in group:
                if row.id in stale:
                    arrangement.expire.append((row, stale[row.id]))
                else:
                    live.append(row)
            reopeners = [row for row in live if is_reopener(row)]
            others = [row for row in live if not is_reopener(row)]
            if key in closed:
                arrangement.expire.extend(
                    (row, "superseded by a newer re-opener") for row in reopeners[:-1]
                )
                latest = reopeners[-1:]
                community_id = latest[0].community_id if latest else None
                if latest and not others and key not in waiting:
                    # A template that waited (the month's cap) with nothing left to release.
                    arrangement.expire.append((latest[0], "nothing waits to be released"))
                    latest = []
                elif community_id in allowance and allowance[community_id][0] <= 0:
                    # Past the month's cap: the template waits for the next month (or
                    # expires when the member writes first); what it would release stays held.
                    arrangement.later.append(
                        (latest[0], costs.next_month(now), "the monthly template cap is reached")
                    )
                    capped[community_id] = allowance[community_id][1]
                    waits_for_cap[key] = others
                    continue
                elif community_id in allowance:
                    left, cap = allowance[community_id]
                    allowance[community_id] = (left - 1, cap)
                arrangement.send.append(latest)
                arrangement.hold.extend(others)
            else:
                arrangement.expire.extend(
                    (row, "the reply window is open: nothing to re-open") for row in reopeners
                )
                arrangement.send.append(self._merge_released(others, arrangement.carried))
        if capped:
            async with self._sessions() as session, session.begin():
                moved = await self._elsewhere(session, waits_for_cap, now)
                for rows_waiting in waits_for_cap.values():
                    for row in rows_waiting:
                        if row.id in moved:
                            arrangement.expire.append((row, moved[row.id]))
                        else:
                            arrangement.hold.append(row)
                for community_id, cap in capped.items():
                    await costs.tell_cap_reached(
                        session,
                        self._outbox,
                        self._texts,
                        self._capabilities,
                        community_id,
                        cap,
                        now,
                    )
        return arrangement

    async def _elsewhere(
        self,
        session: AsyncSession,
        conversations: Mapping[tuple[str, str], list[OutboxMessage]],
        now: datetime,
    ) -> dict[int, str]:
        """Past the month's template cap, a member's waiting messages go on their other
        linked platform without a reply window, where they have one: each is written
        there (as a re-routed copy, like for an unreachable address) and recorded
        ``expired`` here. Returns the ids of this batch's rows that went, with the reason."""
        moved: dict[int, str] = {}
        for (platform, conversation_id), batch in conversations.items():
            member_id = next((row.member_id for row in batch if row.member_id), None)
            held = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.status == OutboxStatus.HELD,
                        OutboxMessage.platform == platform,
                        OutboxMessage.conversation_id == conversation_id,
                    )
                    .order_by(OutboxMessage.id)
                )
            ).all()
            member_id = member_id or next((row.member_id for row in held if row.member_id), None)
            member = await session.get(Member, member_id) if member_id else None
            if member is None:
                continue
            await session.refresh(member, ["identities"])
            other = next(
                (
                    identity
                    for identity in directory.reachable_identities(member, self._capabilities)
                    if identity.platform != platform and self._window(identity.platform) is None
                ),
                None,
            )
            if other is None:
                continue
            reason = f"sent on {other.platform}: the monthly template cap is reached"
            rows = {row.id: row for row in [*held, *batch] if not is_reopener(row)}
            for row in sorted(rows.values(), key=lambda r: r.id):
                message = row_to_message(row)
                await self._outbox.put_one(
                    session,
                    Envelope(
                        f"{row.idempotency_key}:via:{other.platform}",
                        OutgoingMessage(
                            address=directory.dm_address(other),
                            text=message.text,
                            choices=message.choices,
                            multi_select=message.multi_select,
                            poll=message.poll,
                            attachment=message.attachment,
                        ),
                        community_id=row.community_id,
                        member_id=row.member_id,
                        context=row.context,
                    ),
                )
            for row in held:
                if row.id in rows:
                    row.status, row.last_error = OutboxStatus.EXPIRED, reason
            moved.update({row.id: reason for row in batch if row.id in rows})
        return moved

    def _merge_released(
        self, rows: list[OutboxMessage], carried: dict[int, list[OutboxMessage]]
    ) -> list[OutboxMessage]:
        """Plain texts released together when the member's window opened go out as one
        message, in order, up to the platform's length: one send instead of several,
        each a turn of the platform's pacing for this member. Ballots, buttons, files
        and edits go alone."""
        if not rows or self._window(rows[0].platform) is None:
            return rows
        limit = self._capabilities[rows[0].platform].max_text_length
        sending: list[OutboxMessage] = []
        head: OutboxMessage | None = None
        length = 0
        for row in rows:
            if (
                head is not None
                and _mergeable(row)
                and _released(row)
                and row.next_attempt_at == head.next_attempt_at
                and length + len(MERGE_SEPARATOR) + len(row.text) <= limit
            ):
                carried.setdefault(head.id, []).append(row)
                length += len(MERGE_SEPARATOR) + len(row.text)
                continue
            sending.append(row)
            head, length = (row, len(row.text)) if _released(row) and _mergeable(row) else (None, 0)
        return sending

    async def _held_in(
        self, session: AsyncSession, keys: set[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """The conversations among ``keys`` where a message is held."""
        if not keys:
            return set()
        found = (
            await session.execute(
                select(OutboxMessage.platform, OutboxMessage.conversation_id)
                .where(
                    OutboxMessage.status == OutboxStatus.HELD,
                    OutboxMessage.platform.in_({p for p, _ in keys}),
                    OutboxMessage.conversation_id.in_({c for _, c in keys}),
                )
                .distinct()
            )
        ).all()
        return {(p, c) for p, c in found} & keys

    async def _template_allowance(
        self,
        session: AsyncSession,
        rows: Sequence[OutboxMessage],
        stale: Mapping[int, str],
        closed: set[tuple[str, str]],
        now: datetime,
    ) -> dict[int, tuple[int, int]]:
        """Community id → (templates it may still send this month, its cap), for the
        communities with a cap whose re-openers are in this batch."""
        wanted = {
            row.community_id
            for row in rows
            if row.community_id is not None
            and is_reopener(row)
            and row.id not in stale
            and (row.platform, row.conversation_id) in closed
        }
        if not wanted:
            return {}
        limits = await costs.caps(session, wanted)
        if not limits:
            return {}
        sent = await costs.templates_this_month(session, limits, now)
        return {cid: (cap - sent.get(cid, 0), cap) for cid, cap in limits.items()}

    async def _past_useful_life(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> dict[int, str]:
        """Row id → why it is no longer worth sending, for the rows that are not."""
        stale: dict[int, str] = {}
        prompt_rows: dict[int, list[OutboxMessage]] = {}
        round_rows: dict[int, list[OutboxMessage]] = {}
        announced: dict[int, list[OutboxMessage]] = {}
        for row in rows:
            context = row.context or {}
            kind = context.get("kind")
            if kind == ContextKind.PROMPT and str(context.get("prompt_id", "")).isdigit():
                prompt_rows.setdefault(int(context["prompt_id"]), []).append(row)
            elif kind == ContextKind.AGENDA_BALLOT and str(context.get("round_id", "")).isdigit():
                round_rows.setdefault(int(context["round_id"]), []).append(row)
            elif row.idempotency_key.startswith("digest:") and now - row.created_at > DIGEST_LIFE:
                stale[row.id] = "a newer digest is due"
            elif row.idempotency_key.startswith("agenda-open:"):
                named = row.idempotency_key.split(":")[1]
                if named.isdigit():
                    announced.setdefault(int(named), []).append(row)
        if announced:
            phases = dict(
                (
                    await session.execute(
                        select(AgendaRound.meeting_id, AgendaRound.status).where(
                            AgendaRound.meeting_id.in_(list(announced))
                        )
                    )
                ).all()
            )
            for meeting_id, waiting in announced.items():
                if phases.get(meeting_id, RoundStatus.PROPOSALS) != RoundStatus.PROPOSALS:
                    for row in waiting:
                        stale[row.id] = "proposals have closed"
        if prompt_rows:
            found = {
                prompt.id: (prompt, meeting)
                for prompt, meeting in (
                    await session.execute(
                        select(Prompt, Meeting)
                        .join(Meeting, Meeting.id == Prompt.meeting_id)
                        .where(Prompt.id.in_(list(prompt_rows)))
                    )
                ).all()
            }
            for prompt_id, waiting in prompt_rows.items():
                reason = None
                if prompt_id not in found:
                    reason = "the question was removed"
                else:
                    prompt, meeting = found[prompt_id]
                    if meeting.cancelled_at is not None:
                        reason = "the meeting was cancelled"
                    elif meeting.starts_at <= now:
                        reason = "the meeting has started"
                    elif prompt.status in (PromptStatus.ANSWERED, PromptStatus.WITHDRAWN):
                        reason = f"the question was {prompt.status}"
                for row in waiting:
                    if reason is not None:
                        stale[row.id] = reason
        if round_rows:
            statuses = dict(
                (
                    await session.execute(
                        select(AgendaRound.id, AgendaRound.status).where(
                            AgendaRound.id.in_(list(round_rows))
                        )
                    )
                ).all()
            )
            for round_id, waiting in round_rows.items():
                if statuses.get(round_id) != RoundStatus.VOTING:
                    for row in waiting:
                        stale[row.id] = "voting has closed"
        return stale

    async def _closed(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> set[tuple[str, str]]:
        """Conversations whose window is closed: by the member's last message, or because
        the platform refused a message there since (a held row is still waiting)."""
        closed = await self._closed_by_time(session, rows, now)
        windowed = {
            (row.platform, row.conversation_id)
            for row in rows
            if row.conversation_kind == ConversationKind.DM.value
            and self._window(row.platform) is not None
        } - closed
        return closed | await self._held_in(session, windowed)

    # -- failures reported after sending --------------------------------------------------

    async def recheck_failed(
        self,
        session: AsyncSession,
        now: datetime,
        rows: Sequence[OutboxMessage] | None = None,
    ) -> int:
        """A ``failed`` status arrived for a sent message (its row keeps the error the
        engine recorded): follow the rule of the same refusal at send time.

        The engine passes the row a status just reported (``rows``), so it is held,
        re-queued or marked in the transaction that stores the status; without ``rows``
        the sent rows are scanned for any such error left over (the delivery loop's
        backstop)."""
        if rows is None:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.status == OutboxStatus.SENT,
                        OutboxMessage.last_error.is_not(None),
                        or_(
                            *(
                                OutboxMessage.last_error.like(f"{kind}:%")
                                for kind in DeliveryFailure
                            )
                        ),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(500)
                )
            ).all()
        else:
            rows = [
                row
                for row in rows
                if row.status == OutboxStatus.SENT and DeliveryFailure.of(row.last_error)
            ]
        for row in rows:
            failure = DeliveryFailure.of(row.last_error)
            log.info("outbox message %s failed after sending: %s", row.id, row.last_error)
            if failure is DeliveryFailure.WINDOW_CLOSED:
                row.status = OutboxStatus.HELD
                await session.flush()
                await self.on_held(session, [row], now)
            elif failure is DeliveryFailure.UNREACHABLE:
                row.status = OutboxStatus.UNREACHABLE
                await session.flush()
                await self.on_unreachable(session, row, row.last_error or "", now)
            elif failure is DeliveryFailure.RETRY:
                row.status = OutboxStatus.PENDING
                row.attempts += 1
                row.next_attempt_at = now + FAILED_RETRY * row.attempts
                self._outbox.wakeup.set()
            else:
                row.status = OutboxStatus.DEAD
        return len(rows)

    # -- reply windows ---------------------------------------------------------------

    async def closed_windows(self, rows: Sequence[OutboxMessage]) -> set[tuple[str, str]]:
        """DM conversations among ``rows`` on a windowed platform whose window is closed.

        One query for the whole batch. An address that is nobody's identity yet (an
        answer to someone who just wrote) counts as open: the platform enforces the
        window itself, and its refusal holds the message.
        """
        async with self._sessions() as session:
            return await self._closed_by_time(session, rows, self._clock.now())

    async def _closed_by_time(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> set[tuple[str, str]]:
        wanted = {
            (row.platform, row.conversation_id)
            for row in rows
            if row.conversation_kind == ConversationKind.DM.value
            and self._window(row.platform) is not None
        }
        if not wanted:
            return set()
        found = (
            await session.execute(
                select(Identity.platform, Identity.user_id, func.max(Identity.last_inbound_at))
                .where(
                    Identity.platform.in_({platform for platform, _ in wanted}),
                    Identity.user_id.in_({user for _, user in wanted}),
                )
                .group_by(Identity.platform, Identity.user_id)
            )
        ).all()
        closed = set()
        for platform, user_id, last in found:
            if (platform, user_id) not in wanted:
                continue
            window = self._window(platform)
            assert window is not None
            if last is None or now - last >= window - WINDOW_MARGIN:
                closed.add((platform, user_id))
        return closed

    def _window(self, platform: str) -> timedelta | None:
        caps = self._capabilities.get(platform)
        return caps.reply_window if caps is not None else None

    async def on_held(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> None:
        """Ask each member whose messages wait to open their window, once a day at most."""
        for row in {(r.platform, r.conversation_id): r for r in rows}.values():
            community, member = await self._whom(session, row)
            text = self._texts.render(
                "reopener",
                self._language(community, member),
                community=community.name if community is not None else "Indaba",
            )
            message = OutgoingMessage(address=row_to_message(row).address, text=text, reopener=True)
            # One a day: the key names the day, so a second hold that day writes nothing.
            key = f"reopener:{row.platform}:{row.conversation_id}:{now.date().isoformat()}"
            await self._outbox.put_one(
                session,
                Envelope(
                    key,
                    message,
                    community_id=row.community_id,
                    member_id=row.member_id,
                    context={"kind": ContextKind.REOPENER},
                ),
            )

    # -- unreachable addresses --------------------------------------------------------

    async def on_unreachable(
        self, session: AsyncSession, row: OutboxMessage, reason: str, now: datetime
    ) -> None:
        """Mark the address; reach the member on another platform, or name them in a group."""
        address = row_to_message(row).address
        await directory.mark_unreachable(session, address, reason, now)
        # The outbox row, not the address: a log line keeps no platform user id.
        log.warning(
            "%s address of outbox message %s is unreachable: %s", row.platform, row.id, reason
        )
        if row.member_id is None or address.kind is not ConversationKind.DM:
            return
        member = await session.get(Member, row.member_id)
        if member is None:
            return
        await session.refresh(member, ["identities"])
        for identity in directory.reachable_identities(member, self._capabilities):
            if identity.platform == row.platform:
                continue
            message = row_to_message(row)
            rerouted = OutgoingMessage(
                address=directory.dm_address(identity),
                text=message.text,
                choices=message.choices,
                multi_select=message.multi_select,
                poll=message.poll,
            )
            await self._outbox.put_one(
                session,
                Envelope(
                    f"{row.idempotency_key}:via:{identity.platform}",
                    rerouted,
                    community_id=row.community_id,
                    member_id=row.member_id,
                    context=row.context,
                ),
            )
            return
        if is_account_gone(reason) or is_blocked(reason):
            return  # gone, or chose to block the bot: nobody should ask them to open a chat
        await self._nudge_in_group(session, row, member, now)

    async def _nudge_in_group(
        self, session: AsyncSession, row: OutboxMessage, member: Member, now: datetime
    ) -> None:
        """Nobody can DM them: name them in their group so they start a chat, in the
        group's one nudge a day listing everyone who still has to (services.nudges).

        Only a short invitation goes to the group, never the private message itself.
        """
        caps = self._capabilities.get(row.platform)
        community = await session.get(Community, member.community_id)
        if caps is None or not caps.groups or community is None:
            return
        for space in await directory.group_spaces(session, member.community_id):
            if space.platform == row.platform:
                await nudges.nudge_group(
                    session,
                    self._outbox,
                    self._texts,
                    self._capabilities,
                    community,
                    space,
                    self._language(community, None),
                    now,
                )
                return

    # -- languages ------------------------------------------------------------------

    async def _whom(
        self, session: AsyncSession, row: OutboxMessage
    ) -> tuple[Community | None, Member | None]:
        member = await session.get(Member, row.member_id) if row.member_id else None
        community_id = row.community_id or (member.community_id if member else None)
        community = await session.get(Community, community_id) if community_id else None
        return community, member

    @staticmethod
    def _language(community: Community | None, member: Member | None) -> str | None:
        if member is not None and member.language:
            return member.language
        return community.language if community is not None else None
