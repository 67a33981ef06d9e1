"""Slack inbound under load: members' DMs as signed Events API requests to a whole Indaba
(the Slack adapter on slack-bolt, SQLite or PostgreSQL, real clock), many at once.

Prints the acknowledgement latency p50 / p99 (what Slack waits for: at most 3 s), the
requests acknowledged per second, and whether every acknowledged event was stored in
the inbox exactly once. Profiles (users.info) are not the bottleneck here: the fake
and the adapter let them through, as once they are cached.

    python benchmarks/slack_inbound.py --requests 2000 --concurrency 50
    python benchmarks/slack_inbound.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from adapters.slack import SlackAdapter  # noqa: E402
from adapters.slack.client import Pacing  # noqa: E402
from adapters.slack.settings import SlackSettings  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from storage.models import Base, InboxEvent  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlack, Limit  # noqa: E402
from tests.processes import free_port  # noqa: E402
from tests.slack.conftest import SIGNING_SECRET, sign  # noqa: E402

FAST = Limit(10_000, 10_000)


def event(i: int, members: int) -> bytes:
    user = f"U{i % members:06d}"
    ts = f"1796000000.{i:06d}"
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": f"Ev{i:08d}",
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": f"D{user[1:]}",
                "user": user,
                "text": f"Answer number {i}",
                "ts": ts,
            },
        }
    ).encode()


async def run(args: argparse.Namespace) -> None:
    fake = FakeSlack(method_limits={"users.info": FAST, "auth.test": FAST})
    for i in range(args.members):
        fake.add_user(f"U{i:06d}", f"Member {i}")
    await fake.start()
    pacing = Pacing(
        channel_rate=1000,
        channel_burst=1000,
        workspace_rate=1000,
        workspace_burst=1000,
        tiers={"users.info": 100_000.0, "views.publish": 100.0, "chat.update": 50.0},
    )
    adapter = SlackAdapter(
        SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=fake.url,
        ),
        pacing=pacing,
    )
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, data_dir=Path(tmp), http_port=port)
        indaba = Indaba(settings, [adapter])
        async with indaba.db.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        await indaba.start(schedule=False)
        await indaba.serve_http()
        base = f"http://127.0.0.1:{port}"
        latencies: list[float] = []
        acknowledged = 0
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(args.requests):
            queue.put_nowait(i)
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(200):
                try:
                    if (await http.get(base + "/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)

            async def worker() -> None:
                nonlocal acknowledged
                while not queue.empty():
                    body = event(queue.get_nowait(), args.members)
                    headers = {"Content-Type": "application/json", **sign(body)}
                    sent = time.monotonic()
                    answer = await http.post(base + "/slack/events", content=body, headers=headers)
                    latencies.append(time.monotonic() - sent)
                    if answer.status_code == 200:
                        acknowledged += 1

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            elapsed = time.monotonic() - started
        async with indaba.sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(InboxEvent))
        await indaba.aclose()
    await fake.aclose()
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"requests: {args.requests}, concurrency: {args.concurrency}, database: {url.split(':')[0]}"
    )
    print(f"acknowledged: {acknowledged}, stored in the inbox: {stored}")
    p50, p99, top = cuts[49] * 1000, cuts[98] * 1000, max(latencies) * 1000
    print(f"ack latency p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {top:.0f} ms")
    print(f"elapsed {elapsed:.1f}s: {acknowledged / elapsed:.0f} requests acknowledged per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--members", type=int, default=100, help="distinct senders")
    parser.add_argument("--database", default="", help="a database URL (default: SQLite)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
