"""Replicas behave as one bot: they share each token's rate budget on Redis, and exactly
one of them long-polls Telegram, another taking over when it dies."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.client import Limits
from adapters.telegram.settings import TelegramSettings
from bot.app.settings import Settings
from bot.app.wiring import Indaba
from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.pacing import RateWindow
from bot.runtime.budget import RedisBudget
from bot.runtime.clock import SystemClock
from bot.runtime.leadership import Leadership
from bot.runtime.outbox import Envelope
from storage.models import InboxEvent, OutboxMessage
from storage.statuses import OutboxStatus
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram

REDIS_URL = "redis://127.0.0.1:6379/0"
WEBHOOK = "https://indaba.example.org/telegram/webhook"
# Telegram's own limit: 30 messages a second per bot.
CEILING = 30
# What the pacing allows of it (a margin for sends held up on their way).
PACED = RateWindow(CEILING).limit


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram(limits=FakeLimits(per_second=CEILING)).start()
    yield server
    await server.aclose()


def replica(
    fake: FakeTelegram,
    database_url: str,
    tmp_path: Path,
    budget: RedisBudget | None,
    *,
    polling: bool = False,
    **options: float,
) -> Indaba:
    # Webhook mode unless polling is the point: two pollers would only fight.
    webhook = {} if polling else {"webhook_url": WEBHOOK, "webhook_secret": SecretStr("s3cret")}
    adapter = TelegramAdapter(
        TelegramSettings(bot_token=SecretStr(TOKEN), api_url=fake.url, **webhook),
        limits=Limits(per_second=CEILING),
        **options,
    )
    settings = Settings(database_url=database_url, data_dir=tmp_path, delivery_concurrency=2)
    return Indaba(settings, [adapter], clock=SystemClock(), budget=budget)


async def fan_out(db: AsyncEngine, replicas: list[Indaba], members: int) -> None:
    async with replicas[0].sessions() as session, session.begin():
        await replicas[0].outbox.put(
            session,
            [
                Envelope(
                    f"fanout:{user}",
                    OutgoingMessage(Address("telegram", ConversationKind.DM, str(user)), "Hello"),
                )
                for user in range(1, members + 1)
            ],
        )


async def deliver_all(fake: FakeTelegram, replicas: list[Indaba], members: int) -> float:
    """Both replicas' delivery loops until every message is accepted; the seconds it took."""
    fake.clear()
    started = time.monotonic()
    loops = [asyncio.create_task(indaba.delivery.run()) for indaba in replicas]
    try:
        # A progress probe on the fake, which has no event to wait for.
        while len(fake.called("sendMessage")) < members:
            assert time.monotonic() - started < 30, "the fan-out did not finish"
            await asyncio.sleep(0.05)
        return time.monotonic() - started
    finally:
        for indaba in replicas:
            indaba.delivery.stop()
        await asyncio.gather(*loops)


async def test_two_replicas_share_one_rate_budget(
    fake: FakeTelegram, database_url: str, tmp_path: Path, db: AsyncEngine
) -> None:
    members = 200
    for user in range(1, members + 1):
        fake.user(user, f"Member {user}")
        fake.started.add(user)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    budgets = [RedisBudget(REDIS_URL, prefix=prefix) for _ in range(2)]
    replicas = [replica(fake, database_url, tmp_path, budget) for budget in budgets]
    for indaba in replicas:
        await indaba.start(deliver=False, schedule=False)
    try:
        await fan_out(db, replicas, members)
        elapsed = await deliver_all(fake, replicas, members)
        async with replicas[0].sessions() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )
                ).all()
            )
        sent = fake.called("sendMessage")
        # Nothing lost, nothing twice, and both replicas did send.
        assert statuses == {OutboxStatus.SENT: members}
        assert sorted(int(call["chat_id"]) for call in sent) == list(range(1, members + 1))
        assert all(indaba.metrics.sent.labels("telegram")._value.get() > 0 for indaba in replicas)
        # Together within the ceiling (the fake answers 429 past it): at most 1 % refused,
        # and no faster than one budget allows (a burst, then the ceiling a second).
        assert fake.rate_limited <= members // 100, fake.rate_limited
        assert elapsed >= (members - PACED) / PACED * 0.95, elapsed
    finally:
        for indaba in replicas:
            await indaba.aclose()


async def test_without_a_shared_budget_replicas_exceed_the_ceiling(
    fake: FakeTelegram, database_url: str, tmp_path: Path, db: AsyncEngine
) -> None:
    """The control: each replica alone takes the whole ceiling, and Telegram says 429."""
    members = 90
    for user in range(1, members + 1):
        fake.user(user, f"Member {user}")
        fake.started.add(user)
    replicas = [replica(fake, database_url, tmp_path, None) for _ in range(2)]
    for indaba in replicas:
        await indaba.start(deliver=False, schedule=False)
    try:
        await fan_out(db, replicas, members)
        await deliver_all(fake, replicas, members)
        assert fake.rate_limited > members // 100
    finally:
        for indaba in replicas:
            await indaba.aclose()


async def test_redis_down_is_one_line_and_local_pacing(
    fake: FakeTelegram,
    database_url: str,
    tmp_path: Path,
    db: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    members = 45
    for user in range(1, members + 1):
        fake.user(user, f"Member {user}")
        fake.started.add(user)
    # A port nothing listens on, with a password that must not reach the log.
    budget = RedisBudget("redis://:hunter2-secret@127.0.0.1:1/0", prefix="unused")
    indaba = replica(fake, database_url, tmp_path, budget)
    caplog.set_level(logging.INFO)
    await indaba.start(deliver=False, schedule=False)
    try:
        await fan_out(db, [indaba], members)
        await deliver_all(fake, [indaba], members)
        assert fake.rate_limited == 0
    finally:
        await indaba.aclose()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.budget"]
    assert len([line for line in lines if "cannot be reached" in line]) == 1, lines
    assert "each process paces its own sends" in lines[0]
    assert "hunter2-secret" not in caplog.text


async def test_one_replica_polls_telegram_and_another_takes_over(
    fake: FakeTelegram, database_url: str, tmp_path: Path, db: AsyncEngine
) -> None:
    fake.user(7, "Amina")
    replicas = [
        replica(fake, database_url, tmp_path, None, polling=True, poll_timeout=1) for _ in range(2)
    ]
    for indaba in replicas:
        # Quick retries, so the takeover is seen in a second rather than in five.
        indaba.leadership = Leadership(
            indaba.db, indaba.sessions, indaba.clock, retry_seconds=0.2, heartbeat_seconds=0.2
        )
    try:
        for indaba in replicas:
            await indaba.start(deliver=False, handle=False)
        await asyncio.sleep(1.5)
        polling = [i for i in replicas if "telegram-polling" in i.leadership.leads()]
        if db.dialect.name == "sqlite":
            # One process per SQLite file: each leads on its own.
            assert len(polling) == 2
            return
        assert len(polling) == 1 and fake.poll_conflicts == 0
        leader, other = polling[0], next(i for i in replicas if i is not polling[0])
        await fake.say(7, "first")
        assert await stored(db, 1)
        # The leader's database connection breaks, as when its process dies: the lock is
        # released, the other replica polls from its next try, the old one stops.
        held = leader.leadership._roles["telegram-polling"]._connection
        assert held is not None
        await held.invalidate()
        started = time.monotonic()
        while "telegram-polling" not in other.leadership.leads():
            assert time.monotonic() - started < 30, "no replica took over the polling"
            await asyncio.sleep(0.1)
        # The old leader finds its lock gone at its next heartbeat (0.2 s here), which
        # may come just after the other's next try took the lock.
        stepped_down = time.monotonic()
        while "telegram-polling" in leader.leadership.leads():
            assert time.monotonic() - stepped_down < 5, "the old leader still polls"
            await asyncio.sleep(0.05)
        assert "telegram-polling" not in leader.leadership.leads()
        await fake.say(7, "second")
        assert await stored(db, 2)
        # `indaba status` names who leads what, from the replicas' heartbeats.
        expected = f"telegram-polling: led by replica {other.leadership.replica_id}"
        for _ in range(50):
            status = await other.describe()
            if expected in status:
                break
            await asyncio.sleep(0.1)
        assert expected in status, status
        assert f"timetable: led by replica {leader.leadership.replica_id}" in status
        # At most the one poll the old leader had open when it stopped is ended by 409.
        assert fake.poll_conflicts <= 1
    finally:
        for indaba in replicas:
            await indaba.aclose()


async def stored(db: AsyncEngine, count: int, within: float = 10.0) -> bool:
    """Whether ``count`` inbound events are in the inbox within ``within`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        async with db.connect() as connection:
            found = await connection.scalar(select(func.count()).select_from(InboxEvent))
        if found is not None and found >= count:
            return True
        await asyncio.sleep(0.1)
    return False
