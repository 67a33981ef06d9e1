"""Fan-out through the outbox: the questions step for N members, then delivery to a null adapter.

Prints, per database: the time to write the fan-out (prompts + outbox rows, one
transaction), the delivery rate through the real delivery loop, and the peak memory
(RSS) of the process. Each database runs in a fresh process so peaks do not mix.

    python benchmarks/outbox_fanout.py                 # 10,000 members, SQLite and PostgreSQL
    python benchmarks/outbox_fanout.py --members 2000 --database sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from starlette.routing import BaseRoute  # noqa: E402

from benchmarks.members import add_members  # noqa: E402
from bot.adapter import Capabilities, EventSink  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from bot.engine.services.meetings import MeetingKind, add_meeting  # noqa: E402
from bot.messages import MessageRef, OutgoingMessage  # noqa: E402
from bot.runtime.clock import VirtualClock  # noqa: E402
from storage.db import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

PG_URL = os.environ.get("INDABA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
START = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


class NullAdapter:
    """Accepts every message at once and keeps nothing."""

    name = "null"
    capabilities = Capabilities(reply_to=True)

    def __init__(self) -> None:
        self.count = 0

    async def start(self, sink: EventSink) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> MessageRef:
        self.count += 1
        return MessageRef(self.name, message.address.conversation_id, str(self.count))

    async def aclose(self) -> None:
        return None

    def routes(self) -> Sequence[BaseRoute]:
        return []


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(indaba: Indaba, members: int) -> None:
    async with indaba.sessions() as session, session.begin():
        community = await onboarding.create_community(session, "Bench CoP", "UTC", "en", START)
        await add_members(session, community, members, "null", lambda i: f"u{i}", START)
        await add_meeting(
            session,
            community,
            START + timedelta(days=8),
            "Bench meeting",
            MeetingKind.MEETING,
            START,
        )


async def run_one(database: str, members: int) -> dict[str, float | int | str]:
    schema = None
    tmp = tempfile.mkdtemp()
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        url = f"{PG_URL}?search_path={schema}"
    adapter = NullAdapter()
    clock = VirtualClock(START)
    indaba = Indaba(Settings(database_url=url, data_dir=Path(tmp)), [adapter], clock=clock)
    try:
        await upgrade(indaba.db)
        await seed(indaba, members)
        baseline = rss_mib()
        clock._offset += timedelta(days=1, hours=4)  # past the questions step
        started = time.perf_counter()
        await indaba.timetable.run_due()
        enqueue_s = time.perf_counter() - started
        enqueued_rss = rss_mib()
        started = time.perf_counter()
        delivered = await indaba.delivery.drain(max_passes=100_000)
        deliver_s = time.perf_counter() - started
        # Every member's questions (one message each, or more as the step writes them).
        assert adapter.count == delivered >= members, (adapter.count, delivered)
        return {
            "database": database,
            "members": members,
            "enqueue_s": round(enqueue_s, 2),
            "enqueue_per_s": round(members / enqueue_s),
            "deliver_s": round(deliver_s, 2),
            "messages": delivered,
            "deliver_per_s": round(delivered / deliver_s),
            "rss_before_mib": round(baseline, 1),
            "rss_enqueued_mib": round(enqueued_rss, 1),
            "rss_peak_mib": round(rss_mib(), 1),
        }
    finally:
        await indaba.aclose()
        if schema:
            admin = create_engine(PG_URL)
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON line (used internally)")
    args = parser.parse_args()
    if args.database != "both":
        result = asyncio.run(run_one(args.database, args.members))
        print(json.dumps(result) if args.json else result)
        return
    print(
        f"{'database':<10}{'members':>8}{'enqueue s':>11}{'enqueue/s':>11}"
        f"{'deliver s':>11}{'deliver/s':>11}{'RSS peak MiB':>14}"
    )
    for database in ("sqlite", "postgres"):
        out = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--members",
                    str(args.members),
                    "--database",
                    database,
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        print(
            f"{r['database']:<10}{r['members']:>8}{r['enqueue_s']:>11}{r['enqueue_per_s']:>11}"
            f"{r['deliver_s']:>11}{r['deliver_per_s']:>11}{r['rss_peak_mib']:>14}"
        )


if __name__ == "__main__":
    main()
