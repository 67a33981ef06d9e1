"""Inbound under load: many members answering at once through signed webhooks.

Seeds a community whose members have all been asked the meeting's questions, starts a
whole Indaba as its own process (``indaba run --no-console``, WhatsApp configured
against the local fake Cloud API with Meta's limits), then keeps ``--concurrency``
signed WhatsApp webhooks in flight for ``--seconds`` — each an answer from a distinct
member — and prints:

- acknowledgement latency p50 / p99 (what the platform waits for);
- answers stored per second (from the first acknowledgement to the last answer handled);
- whether every acknowledged answer was stored, exactly once.

With ``--kill`` the Indaba process is killed with SIGKILL halfway through the burst and
started again; the load keeps going (requests while it is down fail and are not
acknowledged), and the check is the same: every acknowledged answer stored once.

    python benchmarks/inbound.py --database sqlite
    python benchmarks/inbound.py --database postgres --kill
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select, text, update  # noqa: E402

from benchmarks.members import add_members  # noqa: E402
from bot.engine.services import meetings, onboarding  # noqa: E402
from bot.engine.services.messenger import Messenger  # noqa: E402
from bot.engine.services.questions import QuestionService  # noqa: E402
from bot.engine.texts import Texts  # noqa: E402
from bot.runtime.clock import SystemClock  # noqa: E402
from bot.runtime.outbox import Outbox  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboxEvent, OutboxMessage, Reply  # noqa: E402
from storage.statuses import InboxStatus, OutboxStatus  # noqa: E402
from tests.fakes.whatsapp_api import FakeWhatsApp  # noqa: E402

PG_URL = os.environ.get(
    "INDABA_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
QUESTIONS = 3


def wa_id(i: int) -> str:
    return f"2547{i:08d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'indaba.db'}"
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    return f"{PG_URL}?search_path={schema}"


async def seed(url: str, members: int) -> None:
    """A community, ``members`` WhatsApp members, a meeting whose questions were asked."""
    db = create_engine(url)
    await upgrade(db)
    sessions = session_factory(db)
    now = datetime.now(UTC)
    texts = Texts(ROOT / "prompts")
    questions = QuestionService(Messenger(Outbox(SystemClock(), {}), texts, ["whatsapp"]))
    async with sessions() as session, session.begin():
        community = await onboarding.create_community(session, "Bench CoP", "UTC", "en", now)
        await add_members(session, community, members, "whatsapp", wa_id, now, now)
        meeting = await meetings.add_meeting(
            session,
            community,
            now + timedelta(days=5),
            "Bench meeting",
            meetings.MeetingKind.MEETING,
            now,
        )
        await questions.ask_all(session, community, meeting, now)
        # The questions went out long ago: only the answers are measured.
        await session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=now))
    await db.dispose()


class Indaba:
    """``indaba run --no-console`` as its own process."""

    def __init__(
        self, url: str, fake: FakeWhatsApp, port: int, folder: Path, handlers: int = 0
    ) -> None:
        self.handlers = handlers
        self.env = {
            **os.environ,
            "INDABA_DATABASE_URL": url,
            "INDABA_DATA_DIR": str(folder),
            "INDABA_HTTP_PORT": str(port),
            "INDABA_LOG_LEVEL": "WARNING",
            "INDABA_WHATSAPP_ACCESS_TOKEN": fake.access_token,
            "INDABA_WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
            "INDABA_WHATSAPP_APP_SECRET": fake.app_secret,
            "INDABA_WHATSAPP_VERIFY_TOKEN": "bench-verify",
            "INDABA_WHATSAPP_API_URL": fake.url,
            "INDABA_WHATSAPP_TEMPLATE_NAME": "indaba_reopen",
        }
        self.port = port
        self.log = open(folder / "indaba.log", "ab")  # noqa: SIM115
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--no-console", "--no-demo",
            "--handlers", str(self.handlers),
            env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log,
        )  # fmt: skip
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (
                        await client.get(f"http://127.0.0.1:{self.port}/readyz")
                    ).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("Indaba did not become ready; see indaba.log")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                await self.kill()


async def burst(
    fake: FakeWhatsApp,
    port: int,
    members: int,
    concurrency: int,
    seconds: float,
    on_half: asyncio.Event,
    rate: float | None = None,
) -> tuple[list[tuple[float, float]], set[str], float]:
    """Signed answers from distinct members; returns (when sent, latency) pairs in
    seconds from the start, acknowledged ids, and the start.

    Without ``rate`` each of the ``concurrency`` workers sends its next answer once the
    last was acknowledged (a closed loop: latency is then about concurrency ÷
    throughput). With ``rate`` the answers are due at that many a second whatever the
    acknowledgements do, at most ``concurrency`` in flight, and each latency counts from
    when its answer was due (so a queue building up shows in it)."""
    url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    latencies: list[tuple[float, float]] = []
    acked: set[str] = set()
    started = time.perf_counter()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    slots = itertools.count()

    async def worker(w: int, client: httpx.AsyncClient) -> None:
        member = w
        answered = 0
        while time.perf_counter() < deadline and member < members:
            wamid = f"wamid.BENCH{member:08d}Q{answered}"
            body = json.dumps(
                fake.envelope(
                    {
                        "contacts": [
                            {"profile": {"name": f"Member {member}"}, "wa_id": wa_id(member)}
                        ],
                        "messages": [
                            {
                                "from": wa_id(member),
                                "id": wamid,
                                "timestamp": str(int(time.time())),
                                "type": "text",
                                "text": {"body": f"Answer {answered + 1}: boreholes, {member}"},
                            }
                        ],
                    }
                )
            ).encode()
            headers = {"content-type": "application/json", "x-hub-signature-256": fake.sign(body)}
            fake.last_inbound[wa_id(member)] = datetime.now(UTC)
            sent = time.perf_counter()
            if rate:
                due = started + next(slots) / rate
                if due >= deadline:
                    break
                if due > sent:
                    await asyncio.sleep(due - sent)
                sent = due
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.05)  # Indaba is down (restarting): not acknowledged
                continue
            if response.status_code == 200:
                latencies.append((sent - started, time.perf_counter() - sent))
                acked.add(wamid)
                answered += 1
                if answered == QUESTIONS:
                    member += concurrency
                    answered = 0
            else:
                await asyncio.sleep(0.05)

    async def half() -> None:
        await asyncio.sleep(seconds / 2)
        on_half.set()

    # One client per ten workers: httpx's connection pool gets slow with hundreds of
    # connections in one client, and the load generator would measure itself.
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(0, concurrency, 10)]
    try:
        await asyncio.gather(half(), *(worker(w, clients[w // 10]) for w in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return latencies, acked, started


async def settled(url: str, within: float = 600) -> tuple[float, float]:
    """Wait until nothing waits in the inbox; the first receipt and last handling times."""
    db = create_engine(url)
    sessions = session_factory(db)
    try:
        for _ in range(int(within / 0.25)):
            async with sessions() as session:
                waiting = await session.scalar(
                    select(func.count(InboxEvent.id)).where(
                        InboxEvent.status.in_([InboxStatus.PENDING, InboxStatus.HANDLING])
                    )
                )
                if not waiting:
                    first, last = (
                        await session.execute(
                            select(
                                func.min(InboxEvent.received_at), func.max(InboxEvent.handled_at)
                            )
                        )
                    ).one()
                    return first.timestamp(), last.timestamp()
            await asyncio.sleep(0.25)
    finally:
        await db.dispose()
    raise RuntimeError("the inbox did not empty in time")


async def stored(url: str) -> dict[str, int]:
    db = create_engine(url)
    try:
        async with session_factory(db)() as session:
            rows = await session.execute(
                select(Reply.message_id, func.count()).group_by(Reply.message_id)
            )
            return {str(message_id): int(n) for message_id, n in rows.all()}
    finally:
        await db.dispose()


WARM_UP_SECONDS = 3.0


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, help="answers due per second (an open loop; default: closed)"
    )
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--kill", action="store_true", help="SIGKILL Indaba halfway, restart it")
    parser.add_argument(
        "--handlers", type=int, default=0, help="indaba run --handlers N (PostgreSQL)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # KEEP_DIR keeps Indaba's log (and a list of any missing answers) for a look after.
        folder = Path(os.environ.get("KEEP_DIR") or tmp)
        folder.mkdir(exist_ok=True)  # noqa: ASYNC240
        url = await database(args.database, folder)
        print(f"seeding {args.members} members on {args.database} …", flush=True)
        await seed(url, args.members)
        # Meta's real pacing on the fake: 80 messages/s per number, 1 per 6 s per member.
        fake = FakeWhatsApp(number_rate=80, pair_interval=6)
        await fake.start()
        # The members wrote recently (their reply window is open), as the seed says.
        seeded = datetime.now(UTC)
        fake.last_inbound.update({wa_id(i): seeded for i in range(args.members)})
        port = free_port()
        indaba = Indaba(url, fake, port, folder, args.handlers)
        await indaba.start()
        half = asyncio.Event()

        async def killer() -> None:
            await half.wait()
            await indaba.kill()
            print("  SIGKILL; starting again", flush=True)
            await indaba.start()

        tasks = [asyncio.create_task(killer())] if args.kill else []
        latencies, acked, _ = await burst(
            fake, port, args.members, args.concurrency, args.seconds, half, args.rate
        )
        for task in tasks:
            await task
        first, last = await settled(url)
        counts = await stored(url)
        await indaba.stop()
        await fake.aclose()

    ours = {k: v for k, v in counts.items() if k.startswith("wamid.BENCH")}
    if os.environ.get("KEEP_DIR"):
        (Path(os.environ["KEEP_DIR"]) / "missing.txt").write_text(
            "\n".join(sorted(acked - set(ours)))
        )
    missing = acked - set(ours)
    twice = [k for k, v in ours.items() if v > 1]
    print(
        f"{args.database}: {args.concurrency} concurrent signed webhooks for {args.seconds:.0f} s"
        + (f", {args.rate:.0f} due a second" if args.rate else "")
        + (" with a SIGKILL" if args.kill else "")
    )
    print(f"  acknowledged      {len(acked)} answers ({len(acked) / args.seconds:.0f}/s)")
    every = [latency for _, latency in latencies]
    p50, p99 = quantile(every, 0.5) * 1000, quantile(every, 0.99) * 1000
    print(f"  ack latency       p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    # Past the first seconds (connections opened, statements compiled, caches warm).
    steady = [latency for at, latency in latencies if at >= WARM_UP_SECONDS]
    if len(steady) > 1:
        s50, s99 = quantile(steady, 0.5) * 1000, quantile(steady, 0.99) * 1000
        print(f"  after {WARM_UP_SECONDS:.0f} s        p50 {s50:.1f} ms, p99 {s99:.1f} ms")
    span = max(last - first, 1e-9)
    print(
        f"  stored            {len(ours)} answers, {len(ours) / span:.0f}/s"
        f" (first receipt to last handled: {span:.1f} s)"
    )
    verdict = "yes" if not missing else f"NO, {len(missing)} missing"
    print(f"  every acknowledged answer stored: {verdict}; stored twice: {len(twice)}")


if __name__ == "__main__":
    asyncio.run(main())
