"""``indaba run --handlers N``: the process that answers the platforms only stores and
acknowledges; N processes of lower CPU priority handle what it stored."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.engine.services import directory, onboarding
from bot.messages import Sender
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import InboxEvent
from storage.statuses import InboxStatus
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.processes import free_port, indaba_env, wait_ready
from tests.test_cli import indaba_process

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = [f"2547{i:08d}" for i in range(5)]

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def gone(pid: int) -> bool:
    """The process has exited (or is a zombie its parent has not reaped yet)."""
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


async def handled(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
            )
            return {str(status): int(n) for status, n in rows.all()}
    finally:
        await engine.dispose()


async def test_handler_processes_handle_what_the_server_stored_at_a_lower_priority(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("--handlers needs PostgreSQL")
    engine = create_engine(database_url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with session_factory(engine)() as session, session.begin():
        community = await onboarding.create_community(session, "Handled CoP", "UTC", "en", now)
        for wa_id in MEMBERS:
            await directory.register(session, community, Sender("whatsapp", wa_id, wa_id), now)
    await engine.dispose()
    wa = FakeWhatsApp()
    await wa.start()
    port = free_port()
    wa.webhook_url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    env = indaba_env(
        {
            "INDABA_DATABASE_URL": database_url,
            "INDABA_DATA_DIR": str(tmp_path),
            "INDABA_HTTP_PORT": str(port),
            "INDABA_LOG_LEVEL": "WARNING",
            **wa.indaba_settings(),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-console", "--no-demo", "--handlers", "1",
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        (handler,) = children(process.pid)
        # Acknowledging comes first: the handling process runs at a lower priority
        # (set as it starts, after its imports).
        for _ in range(300):
            if os.getpriority(os.PRIO_PROCESS, handler) != 0:
                break
            await asyncio.sleep(0.05)
        assert os.getpriority(os.PRIO_PROCESS, handler) == 10
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == os.getpriority(
            os.PRIO_PROCESS, os.getpid()
        )
        for wa_id in MEMBERS:
            assert (await wa.member_says(wa_id, "/help")).status_code == 200
        for _ in range(200):
            if (await handled(database_url)).get(InboxStatus.DONE) == len(MEMBERS):
                break
            await asyncio.sleep(0.1)
        assert await handled(database_url) == {InboxStatus.DONE: len(MEMBERS)}
        # The serving process does not handle (it has handle=False): the handler did, and
        # the serving process delivered what it wrote.
        for _ in range(200):
            if all(wa.sent(to=wa_id) for wa_id in MEMBERS):
                break
            await asyncio.sleep(0.1)
        assert all(wa.sent(to=wa_id) for wa_id in MEMBERS)
        # Stopped, the serving process stops its handler too: SIGTERM ends both.
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert gone(handler)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await wa.aclose()


def test_handlers_are_refused_on_sqlite(tmp_path: Path) -> None:
    ran = indaba_process(
        [sys.executable, "-m", "bot", "run", "--no-console", "--migrate", "--handlers", "1"],
        {
            "INDABA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'indaba.db'}",
            "INDABA_DATA_DIR": str(tmp_path),
        },
    )
    assert ran.returncode != 0
    assert "--handlers needs PostgreSQL" in ran.stderr
    assert "Traceback" not in ran.stderr
