"""Replicas on one PostgreSQL: a Telegram fan-out and inbound webhooks with 1, 2 and 3.

Starts the fake Bot API with Telegram's limits (30 messages/s per bot, 1/s per chat),
then for each replica count: that many Indaba processes on one fresh PostgreSQL schema,
each with the Telegram adapter (webhook mode) and ``INDABA_REDIS_URL`` set, so they
share the bot's rate budget. It prints, per count:

- the fan-out of ``--members`` DMs written to the outbox at once: the combined rate
  divided by Telegram's ceiling, the share of sends answered 429, and duplicates (a
  member who got the message more than once) and misses;
- inbound: ``--concurrency`` signed webhooks in flight for ``--seconds`` (a message from
  a distinct member each), spread over the replicas as a load balancer would: updates
  acknowledged per second and events handled per second.

    python benchmarks/replicas.py                      # 1, 2 and 3 replicas
    python benchmarks/replicas.py --replicas 2 --no-redis
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.messages import Address, ConversationKind, OutgoingMessage  # noqa: E402
from bot.runtime.clock import SystemClock  # noqa: E402
from bot.runtime.outbox import Envelope, Outbox  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboxEvent  # noqa: E402
from storage.statuses import InboxStatus  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram  # noqa: E402
from tests.processes import free_port, wait_ready  # noqa: E402

REDIS_URL = os.environ.get("INDABA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-webhook-secret"
CEILING = 30
# Members who write in are another range than those the fan-out reaches.
WRITERS = 100_000


class Replica:
    """One ``indaba run --no-console`` process."""

    def __init__(self, url: str, fake_url: str, redis: bool, number: int) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "INDABA_DATABASE_URL": url,
            "INDABA_HTTP_PORT": str(self.port),
            "INDABA_LOG_LEVEL": "WARNING",
            "INDABA_TELEGRAM_BOT_TOKEN": TOKEN,
            "INDABA_TELEGRAM_API_URL": fake_url,
            "INDABA_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{self.port}/telegram/webhook",
            "INDABA_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "INDABA_REDIS_URL": REDIS_URL if redis else "",
            "INDABA_DATA_DIR": str(Path("/tmp") / f"indaba-replica-{uuid.uuid4().hex[:6]}"),
        }
        self.number = number
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.app.cli",
            "run",
            "--no-console",
            env=self.env,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=open(f"/tmp/indaba-replica-{self.number}.log", "w"),  # noqa: SIM115, ASYNC230
        )

    async def ready(self, within: float = 60) -> None:
        await wait_ready(
            f"http://127.0.0.1:{self.port}", within, f"; see /tmp/indaba-replica-{self.number}.log"
        )

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def fresh_schema() -> tuple[str, str]:
    url, schema = await create_schema("replicas")
    db = create_engine(url)
    await upgrade(db)
    await db.dispose()
    return schema, url


async def fan_out(url: str, fake: FakeTelegram, members: int) -> dict[str, float]:
    db = create_engine(url)
    outbox = Outbox(SystemClock(), {})
    fake.clear()
    fake.rate_limited = 0
    async with session_factory(db)() as session, session.begin():
        await outbox.put(
            session,
            [
                Envelope(
                    f"fanout:{user}",
                    OutgoingMessage(
                        Address("telegram", ConversationKind.DM, str(user)), f"Question for {user}"
                    ),
                )
                for user in range(1, members + 1)
            ],
        )
    await db.dispose()
    started = time.monotonic()

    def reached() -> int:
        return sum(1 for call in fake.called("sendMessage") if call["text"].startswith("Question"))

    while reached() < members and time.monotonic() - started < 600:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    # A little longer: a repeat would show up now.
    await asyncio.sleep(2)
    got = Counter(
        int(call["chat_id"])
        for call in fake.called("sendMessage")
        if call["text"].startswith("Question")
    )
    accepted = sum(got.values())
    return {
        "fanout_s": round(elapsed, 1),
        "rate": round(members / elapsed, 1),
        "of_ceiling": round(members / elapsed / CEILING, 3),
        "share_429": round(fake.rate_limited / (accepted + fake.rate_limited), 4),
        "duplicates": sum(count - 1 for count in got.values() if count > 1),
        "missed": members - len(got),
    }


def update(update_id: int, user: int) -> dict[str, object]:
    person = {"id": user, "is_bot": False, "first_name": f"Writer {user}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": person["first_name"]},
            "from": person,
            "text": f"hello from {user}",
        },
    }


async def inbound(
    url: str, replicas: list[Replica], seconds: float, concurrency: int
) -> dict[str, float]:
    ids = itertools.count(1)
    acknowledged = 0
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acknowledged
        while time.monotonic() < deadline:
            n = next(ids)
            target = replicas[n % len(replicas)]
            try:
                response = await client.post(
                    f"http://127.0.0.1:{target.port}/telegram/webhook",
                    json=update(n, WRITERS + n),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                acknowledged += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    acked_s = time.monotonic() - started
    db = create_engine(url)
    try:
        while True:
            async with session_factory(db)() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status.in_([InboxStatus.PENDING, InboxStatus.HANDLING]))
                )
                handled = await session.scalar(
                    select(func.count())
                    .select_from(InboxEvent)
                    .where(InboxEvent.status == InboxStatus.DONE)
                )
            if not waiting or time.monotonic() - started > 600:
                break
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()
    handled_s = time.monotonic() - started
    return {
        "acked_per_s": round(acknowledged / acked_s),
        "handled_per_s": round((handled or 0) / handled_s),
    }


async def run(count: int, fake: FakeTelegram, args: argparse.Namespace) -> dict[str, object]:
    schema, url = await fresh_schema()
    replicas = [Replica(url, fake.url, not args.no_redis, n) for n in range(count)]
    try:
        for replica in replicas:
            await replica.start()
        for replica in replicas:
            await replica.ready()
        result: dict[str, object] = {"replicas": count}
        result.update(await fan_out(url, fake, args.members))
        result.update(await inbound(url, replicas, args.seconds, args.concurrency))
        return result
    finally:
        for replica in replicas:
            await replica.stop()
        await drop_schema(schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--no-redis", action="store_true", help="each replica paces alone")
    args = parser.parse_args()
    fake = await FakeTelegram(limits=FakeLimits(per_second=CEILING)).start()
    writers = range(WRITERS + 1, WRITERS + 1 + 2000 * int(args.seconds) * max(args.replicas))
    for user in [*range(1, args.members + 1), *writers]:
        fake.user(user, f"Member {user}")
        fake.started.add(user)
    try:
        for count in args.replicas:
            print(json.dumps(await run(count, fake, args)), flush=True)
    finally:
        await fake.aclose()


if __name__ == "__main__":
    asyncio.run(main())
