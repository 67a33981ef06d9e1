"""Fan-out through the outbox: the questions step for N members, then delivery to a null adapter.

Prints, per database: the time to write the fan-out (the questions step: prompts and
outbox rows) and the peak memory (RSS) of the process that wrote it; then, in a fresh
process that only delivers, the messages delivered through the real delivery loop, the
rate, and that process's peak RSS (so the delivery's memory is not hidden under the
writing's).

    python benchmarks/outbox_fanout.py                 # 10,000 members, SQLite and PostgreSQL
    python benchmarks/outbox_fanout.py --members 2000 --database sqlite
    python benchmarks/outbox_fanout.py --member-zone Asia/Tokyo   # every member east
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from starlette.routing import BaseRoute  # noqa: E402

from benchmarks.members import add_members  # noqa: E402
from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.adapter import Capabilities, EventSink  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from bot.engine.services.meetings import MeetingKind, add_meeting  # noqa: E402
from bot.messages import MessageRef, OutgoingMessage  # noqa: E402
from bot.runtime.clock import VirtualClock  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Member, OutboxMessage  # noqa: E402

START = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
PAST_THE_QUESTIONS = timedelta(days=1, hours=4)


class NullAdapter:
    """Accepts every message at once and keeps nothing."""

    name = "null"
    capabilities = Capabilities(reply_to=True)

    def __init__(self) -> None:
        self.count = 0
        self.expected = 0
        self.all_sent = asyncio.Event()

    async def start(self, sink: EventSink) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> MessageRef:
        self.count += 1
        if self.count >= self.expected:
            self.all_sent.set()
        return MessageRef(self.name, message.address.conversation_id, str(self.count))

    async def aclose(self) -> None:
        return None

    def routes(self) -> Sequence[BaseRoute]:
        return []


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(indaba: Indaba, members: int, zone: str | None = None) -> None:
    async with indaba.sessions() as session, session.begin():
        community = await onboarding.create_community(session, "Bench CoP", "UTC", "en", START)
        await add_members(session, community, members, "null", lambda i: f"u{i}", START)
        if zone:
            # Every member in their own timezone (east of UTC: the questions' first run).
            await session.execute(update(Member).values(timezone=zone))
        await add_meeting(
            session,
            community,
            START + timedelta(days=8),
            "Bench meeting",
            MeetingKind.MEETING,
            START,
        )


async def write_fan_out(
    database: str, members: int, zone: str | None = None
) -> dict[str, float | int | str]:
    """A fresh database, the members, and the questions step's fan-out written."""
    tmp = tempfile.mkdtemp()
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        url, _ = await create_schema()
    clock = VirtualClock(START)
    indaba = Indaba(Settings(database_url=url, data_dir=Path(tmp)), [NullAdapter()], clock=clock)
    try:
        await upgrade(indaba.db)
        await seed(indaba, members, zone)
        clock._offset += PAST_THE_QUESTIONS
        started = time.perf_counter()
        await indaba.timetable.run_due()
        enqueue_s = time.perf_counter() - started
    finally:
        await indaba.aclose()
    return {
        "url": url,
        "enqueue_s": round(enqueue_s, 2),
        "enqueue_per_s": round(members / enqueue_s),
        "rss_write_mib": round(rss_mib(), 1),
    }


async def deliver(url: str, members: int) -> dict[str, float | int | str]:
    """Everything due delivered to the null adapter, in a process that wrote nothing."""
    adapter = NullAdapter()
    # The writing process's clock ran on while it worked: an hour later, all is due.
    clock = VirtualClock(START + PAST_THE_QUESTIONS + timedelta(hours=1))
    tmp = tempfile.mkdtemp()
    indaba = Indaba(Settings(database_url=url, data_dir=Path(tmp)), [adapter], clock=clock)
    try:
        async with indaba.sessions() as session:
            due = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
        baseline = rss_mib()
        started = time.perf_counter()
        # The loop `indaba run` runs (the next batch claimed while one is sending), until
        # every due message went out.
        adapter.expected = due or 0
        loop = asyncio.create_task(indaba.delivery.run())
        await asyncio.wait(
            {loop, asyncio.ensure_future(adapter.all_sent.wait())},
            return_when=asyncio.FIRST_COMPLETED,
        )
        deliver_s = time.perf_counter() - started
        indaba.delivery.stop()
        await loop
        delivered = adapter.count
        # Every member's questions (one message each, or more as the step writes them).
        assert adapter.count == delivered >= members, (adapter.count, delivered)
        return {
            "deliver_s": round(deliver_s, 2),
            "messages": delivered,
            "deliver_per_s": round(delivered / deliver_s),
            "rss_deliver_start_mib": round(baseline, 1),
            "rss_deliver_peak_mib": round(rss_mib(), 1),
        }
    finally:
        await indaba.aclose()
        if "search_path=" in url:
            await drop_schema(str(make_url(url).query["search_path"]))


def phase(*args: str) -> dict[str, float | int | str]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    ).stdout.strip()
    loaded: dict[str, float | int | str] = json.loads(out.splitlines()[-1])
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--phase", choices=["write", "deliver"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--member-zone", help="every member's own timezone (default: UTC's)")
    args = parser.parse_args()
    if args.phase == "write":
        found = write_fan_out(args.database, args.members, args.member_zone)
        print(json.dumps(asyncio.run(found)))
        return
    if args.phase == "deliver":
        print(json.dumps(asyncio.run(deliver(args.url, args.members))))
        return
    print(
        f"{'database':<10}{'members':>8}{'written s':>11}{'RSS MiB':>9}"
        f"{'messages':>10}{'deliver s':>11}{'deliver/s':>11}{'RSS MiB':>9}"
    )
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        members = str(args.members)
        zone = ("--member-zone", args.member_zone) if args.member_zone else ()
        written = phase("--phase", "write", "--database", database, "--members", members, *zone)
        url = str(written["url"])
        sent = phase(
            "--phase", "deliver", "--database", database, "--members", members, "--url", url
        )
        print(
            f"{database:<10}{args.members:>8}{written['enqueue_s']:>11}"
            f"{written['rss_write_mib']:>9}{sent['messages']:>10}{sent['deliver_s']:>11}"
            f"{sent['deliver_per_s']:>11}{sent['rss_deliver_peak_mib']:>9}",
            flush=True,
        )


if __name__ == "__main__":
    main()
