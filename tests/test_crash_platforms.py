"""SIGKILL mid fan-out with Slack, Telegram and WhatsApp configured at once: after a
restart every member has their question, and on each platform no more are repeated than
one claimed batch (``concurrency × 4``), the bound README states per adapter."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.engine.services import directory, onboarding
from bot.engine.services.meetings import MeetingKind, add_meeting
from bot.messages import Sender
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Identity, OutboxMessage
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.processes import indaba_env, midday_zone
from tests.slack.conftest import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
PER_PLATFORM = {"slack": 40, "telegram": 150, "whatsapp": 150}
CONCURRENCY = 4

pytestmark = pytest.mark.slow


def slack_user(i: int) -> str:
    return f"U{i:06d}"


def telegram_user(i: int) -> str:
    return str(700_000 + i)


def wa_id(i: int) -> str:
    return f"2348{i:09d}"


USERS = {"slack": slack_user, "telegram": telegram_user, "whatsapp": wa_id}


async def seed(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with session_factory(engine)() as session, session.begin():
        # Where it is noon: at night the quiet hours would hold every question back.
        community = await onboarding.create_community(
            session, "Three CoP", midday_zone(now), "en", now
        )
        for platform, count in PER_PLATFORM.items():
            for i in range(count):
                user = USERS[platform](i)
                await directory.register(
                    session, community, Sender(platform, user, f"{platform} {i}"), now
                )
        # Everyone wrote recently: WhatsApp's reply window is open.
        await session.execute(update(Identity).values(last_inbound_at=now))
        # Questions were due days ago and are still useful: they go out at start.
        await add_meeting(
            session, community, now + timedelta(days=3), "March", MeetingKind.MEETING, now
        )
    await engine.dispose()


async def outbox(database_url: str) -> dict[str, int]:
    """The outbox's rows by status, but for those due hours from now: the timetable runs
    on the real clock, and from Tuesday 20:00 UTC, say, the weekly question's invitation
    is written for a member's Wednesday morning, and waits for it, as it should. (A row
    backing off after a 429 is due within seconds: it counts.)"""
    engine = create_engine(database_url)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.next_attempt_at <= datetime.now(UTC) + timedelta(minutes=10))
            .group_by(OutboxMessage.status)
        )
        counts = {str(status): int(n) for status, n in rows.all()}
    await engine.dispose()
    return counts


async def sent(database_url: str) -> int:
    return (await outbox(database_url)).get("sent", 0)


async def waiting(database_url: str) -> int:
    counts = await outbox(database_url)
    return sum(counts.get(status, 0) for status in ("pending", "sending", "held"))


async def start(
    database_url: str, tmp_path: Path, slack: FakeSlack, telegram: FakeTelegram, wa: FakeWhatsApp
) -> asyncio.subprocess.Process:
    env = indaba_env(
        {
            "INDABA_DATABASE_URL": database_url,
            "INDABA_DATA_DIR": str(tmp_path),
            "INDABA_HTTP_PORT": "0",
            "INDABA_LOG_LEVEL": "WARNING",
            "INDABA_DELIVERY_LEASE_SECONDS": "5",
            "INDABA_DELIVERY_CONCURRENCY": str(CONCURRENCY),
            "INDABA_SLACK_BOT_TOKEN": BOT_TOKEN,
            "INDABA_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "INDABA_SLACK_API_URL": slack.url,
            "INDABA_TELEGRAM_BOT_TOKEN": TOKEN,
            "INDABA_TELEGRAM_API_URL": telegram.url,
            **wa.indaba_settings(),
            "INDABA_WHATSAPP_MEMBER_INTERVAL_SECONDS": "0",
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-console", "--no-demo", env=env, cwd=ROOT
    )


def received(
    slack: FakeSlack, telegram: FakeTelegram, wa: FakeWhatsApp
) -> dict[str, Counter[tuple[str, str]]]:
    """(member, message) pairs each platform accepted, counted: a count over 1 is a repeat."""
    return {
        "slack": Counter(
            (c.to, str(c.params.get("text"))) for c in slack.calls("chat.postMessage", ok=True)
        ),
        "telegram": Counter(
            (c.to, str(c.params.get("text"))) for c in telegram.calls("sendMessage", ok=True)
        ),
        "whatsapp": Counter((c.to, str(c.params)) for c in wa.calls(ok=True)),
    }


async def test_sigkill_mid_fan_out_on_three_platforms(database_url: str, tmp_path: Path) -> None:
    await seed(database_url)
    slack = FakeSlack()
    for i in range(PER_PLATFORM["slack"]):
        slack.add_user(slack_user(i), f"slack {i}")
    await slack.start()
    # A Telegram slower than the real one (10/s, answering 429 past it) keeps the fan-out
    # going long enough to kill it in the middle on any machine.
    telegram = await FakeTelegram(limits=FakeLimits(per_second=10)).start()
    for i in range(PER_PLATFORM["telegram"]):
        telegram.user(int(telegram_user(i)), f"telegram {i}")
        telegram.started.add(int(telegram_user(i)))
    wa = FakeWhatsApp(number_rate=80)
    await wa.start()
    now = datetime.now(UTC)
    wa.last_inbound.update({wa_id(i): now for i in range(PER_PLATFORM["whatsapp"])})
    try:
        first = await start(database_url, tmp_path, slack, telegram, wa)
        for _ in range(600):
            done = await sent(database_url)
            if done >= 30 or first.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert first.returncode is None, "Indaba stopped before the fan-out"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        # Telegram's 10 a second keeps 150 members' questions going for 15 s or more.
        assert await waiting(database_url) > 0, "the fan-out finished before the kill"

        second = await start(database_url, tmp_path, slack, telegram, wa)
        for _ in range(1200):
            if await waiting(database_url) == 0:
                break
            await asyncio.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    finally:
        await slack.aclose()
        await telegram.aclose()
        await wa.aclose()

    state = await outbox(database_url)
    assert set(state) == {"sent"}, state  # nothing lost, nothing dead
    got = received(slack, telegram, wa)
    for platform, count in PER_PLATFORM.items():
        reached = {to for to, _ in got[platform]}
        if platform == "slack":
            # Slack DMs go to the D-channel conversations.open returned for each member.
            assert len(reached) == count, platform
        else:
            assert reached == {USERS[platform](i) for i in range(count)}, platform
        repeated = sum(n - 1 for n in got[platform].values())
        assert repeated <= CONCURRENCY * 4, f"{platform}: {repeated} repeated, over one batch"
