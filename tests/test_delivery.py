"""The delivery loop: retries, dead letters, rate limits, unreachable members, reply windows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.adapter import Capabilities, RetryAfter, TransientError, Unreachable, WindowClosed
from bot.engine.services import directory
from bot.messages import Address, ConversationKind, OutgoingMessage, Sender
from bot.runtime.outbox import Envelope
from storage.models import Community, Identity, OutboxMessage
from tests.harness import Harness


def dm(user: str, text: str, platform: str = "memory") -> OutgoingMessage:
    return OutgoingMessage(Address(platform, ConversationKind.DM, user), text)


async def put(h: Harness, *envelopes: Envelope) -> int:
    async with h.indaba.sessions() as session, session.begin():
        return await h.indaba.outbox.put(session, envelopes)


async def rows(h: Harness) -> dict[str, OutboxMessage]:
    async with h.indaba.sessions() as session:
        found = (await session.scalars(select(OutboxMessage))).all()
    return {row.idempotency_key: row for row in found}


async def test_same_key_is_stored_once(harness: Harness) -> None:
    assert await put(harness, Envelope("k1", dm("amina", "hello"))) == 1
    assert await put(harness, Envelope("k1", dm("amina", "hello again"))) == 0
    await harness.settle()
    assert [s.message.text for s in harness.adapter.pop()] == []  # popped by settle
    assert (await rows(harness))["k1"].status == "sent"


async def test_transient_failures_are_retried_with_backoff_then_dead(harness: Harness) -> None:
    h = harness
    h.adapter.failures.extend([TransientError("boom")] * 20)
    await put(h, Envelope("k1", dm("amina", "hello")))
    await h.settle()
    row = (await rows(h))["k1"]
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > h.clock.now()
    attempts = [row.attempts]
    for _ in range(12):
        await h.advance(minutes=15)
        attempts.append((await rows(h))["k1"].attempts)
    row = (await rows(h))["k1"]
    assert row.status == "dead"
    assert row.attempts == h.indaba.settings.delivery_max_attempts
    assert row.last_error == "boom"
    assert attempts == sorted(attempts)


async def test_retry_after_waits_and_keeps_conversation_order(harness: Harness) -> None:
    h = harness
    h.adapter.failures.append(RetryAfter(30))
    await put(h, Envelope("a", dm("amina", "first")), Envelope("b", dm("amina", "second")))
    assert await h.settle() == []
    state = await rows(h)
    assert state["a"].attempts == 0 and state["a"].status == "pending"
    assert state["b"].status == "pending"
    sent = await h.advance(seconds=31)
    assert [s.message.text for s in sent] == ["first", "second"]


async def test_unreachable_member_is_marked_and_reached_elsewhere(
    database_url: str, tmp_path: Path
) -> None:
    other = MemoryAdapter(name="other")
    h = await Harness.create(database_url, tmp_path, adapters=[MemoryAdapter(), other])
    try:
        setup, _ = await h.create_community()
        await h.say("fatima", f"/setup {setup}", "#cop")
        async with h.indaba.sessions() as session, session.begin():
            community = await session.scalar(select(Community))
            assert community is not None
            now = h.clock.now()
            member, _ = await directory.register(
                session, community, Sender("memory", "amina", "Amina"), now
            )
            await directory.add_identity(session, member, Sender("other", "+254700", "Amina"), now)
            await h.indaba.outbox.put_one(
                session,
                Envelope(
                    "q1", dm("amina", "question"), community_id=community.id, member_id=member.id
                ),
            )
        h.adapter.pop()
        h.adapter.failures.append(Unreachable("blocked"))
        await h.settle()
        assert [s.message.text for s in other.pop()] == ["question"]
        async with h.indaba.sessions() as session:
            identity = await session.scalar(select(Identity).where(Identity.user_id == "amina"))
            assert identity is not None and identity.unreachable_at is not None
        assert (await rows(h))["q1"].status == "unreachable"
    finally:
        await h.aclose()


async def test_member_nobody_can_dm_is_nudged_in_their_group(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        member = await directory.member_in(session, community.id, "memory", "amina")
        assert member is not None
        await h.indaba.outbox.put_one(
            session,
            Envelope(
                "q1",
                dm("amina", "private question"),
                community_id=community.id,
                member_id=member.id,
            ),
        )
    h.adapter.failures.append(Unreachable("bot can't initiate conversation"))
    sent = await h.settle()
    assert len(sent) == 1
    nudge = sent[0].message
    assert nudge.address.conversation_id == "#cop"
    assert nudge.mention is not None and nudge.mention.user_id == "amina"
    assert nudge.invite_to_dm and "private question" not in nudge.text


async def test_reply_window_holds_messages_until_the_member_writes(
    database_url: str, tmp_path: Path
) -> None:
    windowed = MemoryAdapter(
        name="memory", capabilities=Capabilities(reply_window=timedelta(hours=24), groups=False)
    )
    h = await Harness.create(database_url, tmp_path, adapters=[windowed])
    try:
        _, join = await h.create_community()
        await h.say("amina", f"/join {join}")
        windowed.pop()
        await h.advance(hours=30)
        async with h.indaba.sessions() as session, session.begin():
            await h.indaba.outbox.put_one(session, Envelope("late", dm("amina", "news")))
        sent = await h.settle()
        assert [s.message.reopener for s in sent] == [True]
        assert (await rows(h))["late"].status == "held"
        assert await h.settle() == []  # one re-opener, not one per pass
        sent = await h.say("amina", "hi, I am back")
        assert "news" in [s.message.text for s in sent]
        assert (await rows(h))["late"].status == "sent"
        # The platform refusing anyway (its own clock) holds the message too.
        windowed.failures.append(WindowClosed("131047"))
        async with h.indaba.sessions() as session, session.begin():
            await h.indaba.outbox.put_one(session, Envelope("refused", dm("amina", "more")))
        await h.settle()
        assert (await rows(h))["refused"].status == "held"
    finally:
        await h.aclose()


async def test_lost_lease_is_claimed_again(harness: Harness) -> None:
    h = harness
    await put(h, Envelope("k1", dm("amina", "hello")))
    claimed = await h.indaba.delivery._claim(10)
    assert [row.idempotency_key for row in claimed] == ["k1"]
    assert await h.settle() == []  # the lease still holds
    sent = await h.advance(seconds=6)
    assert [s.message.text for s in sent] == ["hello"]
