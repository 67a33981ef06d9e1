"""SIGKILL in the middle of a fan-out to 500 members, then a restart: every member gets
their question, and no more are repeated than were in flight at the instant of the kill."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.engine.services import directory, onboarding
from bot.engine.services.meetings import MeetingKind, add_meeting
from bot.messages import Sender
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 500
# Each member gets two messages: the first question, then whether they will come.
PER_MEMBER = 2
MESSAGES = MEMBERS * PER_MEMBER
CONCURRENCY = 8
START = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
HEADER = re.compile(r"^  bot → DM @(m\d+)  \[", re.MULTILINE)


async def seed(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    async with session_factory(engine)() as session, session.begin():
        community = await onboarding.create_community(session, "Big CoP", "UTC", "en", START)
        # The kill must land mid fan-out at 06:00: no quiet hours holding the questions.
        community.settings = {"quiet_hours": ""}
        for i in range(MEMBERS):
            await directory.register(session, community, Sender("console", f"m{i}", f"M{i}"), START)
        # The questions were due four days ago and are still useful: they go out at start.
        await add_meeting(
            session,
            community,
            datetime(2027, 3, 4, 14, 0, tzinfo=UTC),
            "March",
            MeetingKind.MEETING,
            datetime(2027, 2, 1, tzinfo=UTC),
        )
    await engine.dispose()


async def outbox_state(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    async with session_factory(engine)() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        ).all()
    await engine.dispose()
    return dict(rows)


async def start(database_url: str, tmp_path: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "INDABA_DATABASE_URL": database_url,
        "INDABA_DATA_DIR": str(tmp_path),
        "INDABA_DELIVERY_LEASE_SECONDS": "5",
        "INDABA_DELIVERY_CONCURRENCY": str(CONCURRENCY),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--no-demo",
        "--no-http",
        "--clock",
        START.strftime("%Y-%m-%d %H:%M"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
        env=env,
        cwd=ROOT,
    )


async def test_sigkill_mid_fan_out_loses_nothing(database_url: str, tmp_path: Path) -> None:
    await seed(database_url)
    first = await start(database_url, tmp_path)
    assert first.stdout is not None
    seen = ""
    # The console writes to a pipe we read slowly, so the fan-out is still going on.
    while len(HEADER.findall(seen)) < 150:
        chunk = await asyncio.wait_for(first.stdout.read(4096), timeout=60)
        assert chunk, "Indaba stopped before the fan-out"
        seen += chunk.decode()
    first.send_signal(signal.SIGKILL)
    seen += (await first.stdout.read()).decode()
    await first.wait()
    before = await outbox_state(database_url)
    assert before.get("sent", 0) < MESSAGES, before  # really killed mid fan-out

    second = await start(database_url, tmp_path)
    assert second.stdin is not None and second.stdout is not None
    reader = asyncio.create_task(second.stdout.read())
    for _ in range(240):
        state = await outbox_state(database_url)
        if state.get("sent", 0) == MESSAGES:
            break
        await asyncio.sleep(0.5)
    second.stdin.close()
    after = (await asyncio.wait_for(reader, timeout=60)).decode()
    await second.wait()

    assert await outbox_state(database_url) == {"sent": MESSAGES}
    received = Counter(HEADER.findall(seen) + HEADER.findall(after))
    assert set(received) == {f"m{i}" for i in range(MEMBERS)}
    repeated = sum(count - PER_MEMBER for count in received.values())
    # At most one claimed batch (concurrency x 4) was sent but not yet recorded.
    assert repeated <= CONCURRENCY * 4, f"{repeated} repeated, more than one batch"
