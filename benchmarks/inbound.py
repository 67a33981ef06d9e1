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

With ``--serving-only`` (and ``--handlers N``) the handler processes are stopped with
SIGSTOP for the burst and go on after it: what the serving process alone acknowledges.

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
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from adapters.memory import MemoryAdapter  # noqa: E402
from adapters.whatsapp.adapter import CAPABILITIES  # noqa: E402
from benchmarks.members import add_members, bench_meeting  # noqa: E402
from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from bot.runtime.clock import SystemClock  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboxEvent, OutboxMessage, Reply  # noqa: E402
from storage.statuses import InboxStatus, OutboxStatus  # noqa: E402
from tests.fakes.whatsapp_api import FakeWhatsApp  # noqa: E402
from tests.processes import free_port, midday_zone, wait_ready  # noqa: E402

QUESTIONS = 3


def wa_id(i: int) -> str:
    return f"2547{i:08d}"


async def database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'indaba.db'}", None
    return await create_schema()


async def seed(url: str, members: int, folder: Path) -> None:
    """A community, ``members`` WhatsApp members, a meeting whose questions the
    timetable asked (so the Indaba measured has no step to catch up on at its start)."""
    db = create_engine(url)
    await upgrade(db)
    await db.dispose()
    now = datetime.now(UTC)
    whatsapp = MemoryAdapter(name="whatsapp", capabilities=CAPABILITIES)
    indaba = Indaba(Settings(database_url=url, data_dir=folder), [whatsapp], clock=SystemClock())
    try:
        async with indaba.sessions() as session, session.begin():
            community = await onboarding.create_community(
                session, "Bench CoP", midday_zone(now), "en", now
            )
            await add_members(session, community, members, "whatsapp", wa_id, now, now)
            await bench_meeting(session, community, now)
        await indaba.timetable.run_due()
        async with indaba.sessions() as session, session.begin():
            # The questions went out long ago: only the answers are measured.
            await session.execute(
                update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=now)
            )
    finally:
        await indaba.aclose()


class Running:
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
            **fake.indaba_settings("bench-verify"),
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
        await wait_ready(f"http://127.0.0.1:{self.port}", 30, "; see indaba.log")

    def signal_handlers(self, number: int) -> None:
        """Send ``number`` to the ``--handlers`` processes this Indaba started."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) != self.handlers:
            raise RuntimeError(f"{len(children)} handler processes, not {self.handlers}")
        for child in children:
            os.kill(int(child), number)

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


def webhook(fake: FakeWhatsApp, member: int, answered: int) -> bytes:
    """One signed WhatsApp webhook, an answer from ``member``, as the bytes of a request."""
    sender = wa_id(member)
    body = json.dumps(
        fake.envelope(
            {
                "contacts": [{"profile": {"name": f"Member {member}"}, "wa_id": sender}],
                "messages": [
                    {
                        "from": sender,
                        "id": wamid(member, answered),
                        "timestamp": str(int(time.time())),
                        "type": "text",
                        "text": {"body": f"Answer {answered + 1}: boreholes, {member}"},
                    }
                ],
            }
        )
    ).encode()
    signature = fake.sign(body)
    head = (
        "POST /whatsapp/webhook HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        "content-type: application/json\r\n"
        f"x-hub-signature-256: {signature}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def wamid(member: int, answered: int) -> str:
    return f"wamid.BENCH{member:08d}Q{answered}"


async def _post(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
) -> int:
    """Send one request on a kept-alive connection; the response's status."""
    reader, writer = connection
    writer.write(request)
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def burst(
    port: int,
    phone_number_id: str,
    app_secret: str,
    members: int,
    concurrency: int,
    seconds: float,
    rate: float | None = None,
) -> tuple[list[tuple[float, float]], list[str]]:
    """Signed answers from distinct members; returns (when sent, latency) pairs in
    seconds from the start and the acknowledged ids.

    Without ``rate`` each of the ``concurrency`` connections sends its next answer once
    the last was acknowledged (a closed loop: latency is then about concurrency ÷
    throughput). With ``rate`` the answers are due at that many a second whatever the
    acknowledgements do, at most ``concurrency`` in flight, and each latency counts from
    when its answer was due (so a queue building up shows in it).

    The client is plain HTTP/1.1 on kept-alive sockets, with each request's bytes made
    before its clock starts, in a process of its own: an HTTP library's client cost
    several times what the server spent on each request, and the measure was of itself.
    """
    # The fake's envelope and signature, not its server (that runs in the parent).
    fake = FakeWhatsApp(phone_number_id=phone_number_id, app_secret=app_secret)
    latencies: list[tuple[float, float]] = []
    acked: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    slots = itertools.count()

    async def worker(w: int) -> None:
        member, answered = w, 0
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.perf_counter() < deadline and member < members:
            request = webhook(fake, member, answered)
            sent = time.perf_counter()
            if rate:
                due = started + next(slots) / rate
                if due >= deadline:
                    break
                if due > sent:
                    await asyncio.sleep(due - sent)
                sent = due
            status = 0
            while status == 0 and time.perf_counter() < deadline:
                reused = connection is not None
                try:
                    if connection is None:
                        connection = await asyncio.open_connection("127.0.0.1", port)
                    status = await _post(connection, request)
                except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
                    # Not acknowledged: the server closed a connection idle past its
                    # keep-alive (sent again at once on a new one), or Indaba is down
                    # (restarting: sent again shortly, as a platform re-delivers).
                    connection = None
                    if not reused:
                        await asyncio.sleep(0.05)
            if not status:
                break
            if status == 200:
                latencies.append((sent - started, time.perf_counter() - sent))
                acked.append(wamid(member, answered))
                answered += 1
                if answered == QUESTIONS:
                    member += concurrency
                    answered = 0
            else:
                await asyncio.sleep(0.05)
        if connection is not None:
            connection[1].close()

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return latencies, acked


def load_main(arguments: str) -> None:
    """The load generator's process: the burst, its result as JSON on stdout."""
    options = json.loads(arguments)
    import uvloop

    cpu = time.process_time()
    latencies, acked = uvloop.run(burst(**options))
    json.dump(
        {"latencies": latencies, "acked": acked, "cpu": time.process_time() - cpu}, sys.stdout
    )


async def load(
    fake: FakeWhatsApp, port: int, **options: Any
) -> tuple[list[tuple[float, float]], set[str], float]:
    """Run :func:`burst` in a process of its own: its latencies, the acknowledged ids and
    the CPU seconds the load generator used."""
    arguments = json.dumps(
        {
            "port": port,
            "phone_number_id": fake.phone_number_id,
            "app_secret": fake.app_secret,
            **options,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--load", arguments, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    result = json.loads(output)
    latencies = [(float(at), float(latency)) for at, latency in result["latencies"]]
    return latencies, set(result["acked"]), float(result["cpu"])


LOAD_START_SECONDS = 1.0  # about what the load generator's process takes to start


def _cpu_by_kind() -> dict[str, float]:
    """CPU seconds used so far by Indaba's processes and PostgreSQL's, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    spent = {"indaba": 0.0, "postgres": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
            owner = stat.parent.stat().st_uid
        except OSError:
            continue
        kind = (
            "indaba"
            if b"bot\x00run" in command
            else "postgres"
            if _user_of(owner) == "postgres"
            else None
        )
        if kind:
            spent[kind] += (int(fields[11]) + int(fields[12])) / tick
    return spent


def _user_of(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


class CpuTimes:
    """Where the machine's CPU went during the burst: Indaba (every process of it),
    PostgreSQL, this process (the fake Cloud API) and the load generator (it reports
    its own)."""

    def __init__(self) -> None:
        self._start = _cpu_by_kind()
        self._own = time.process_time()

    def since(self) -> dict[str, float]:
        now = _cpu_by_kind()
        spent = {kind: now[kind] - self._start[kind] for kind in now}
        spent["fake Cloud API"] = time.process_time() - self._own
        return spent


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
    parser.add_argument(
        "--serving-only",
        action="store_true",
        help="stop the handler processes during the burst (needs --handlers)",
    )
    args = parser.parse_args()
    if args.serving_only and (not args.handlers or args.kill):
        parser.error("--serving-only needs --handlers N, and no --kill")

    with tempfile.TemporaryDirectory() as tmp:
        # KEEP_DIR keeps Indaba's log (and a list of any missing answers) for a look after.
        folder = Path(os.environ.get("KEEP_DIR") or tmp)
        folder.mkdir(exist_ok=True)  # noqa: ASYNC240
        url, schema = await database(args.database, folder)
        print(f"seeding {args.members} members on {args.database} …", flush=True)
        await seed(url, args.members, folder)
        # Meta's real pacing on the fake: 80 messages/s per number, 1 per 6 s per member.
        fake = FakeWhatsApp(number_rate=80, pair_interval=6)
        await fake.start()
        # The members wrote recently (their reply window is open), as the seed says.
        seeded = datetime.now(UTC)
        fake.last_inbound.update({wa_id(i): seeded for i in range(args.members)})
        port = free_port()
        indaba = Running(url, fake, port, folder, args.handlers)
        await indaba.start()

        async def killer() -> None:
            await asyncio.sleep(LOAD_START_SECONDS + args.seconds / 2)
            await indaba.kill()
            print("  SIGKILL; starting again", flush=True)
            await indaba.start()

        tasks = [asyncio.create_task(killer())] if args.kill else []
        if args.serving_only:
            indaba.signal_handlers(signal.SIGSTOP)
        cpu = CpuTimes()
        latencies, acked, load_cpu = await load(
            fake,
            port,
            members=args.members,
            concurrency=args.concurrency,
            seconds=args.seconds,
            rate=args.rate,
        )
        spent = {**cpu.since(), "load generator": load_cpu}
        resumed = time.time()
        if args.serving_only:
            indaba.signal_handlers(signal.SIGCONT)
        for task in tasks:
            await task
        first, last = await settled(url)
        counts = await stored(url)
        await indaba.stop()
        await fake.aclose()
        if schema is not None and not os.environ.get("KEEP_DIR"):
            await drop_schema(schema)

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
        + (", handling stopped" if args.serving_only else "")
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
    # With handling stopped for the burst, the rate counts from when it went on.
    span = max(last - (resumed if args.serving_only else first), 1e-9)
    since = "handling going on" if args.serving_only else "first receipt"
    print(
        f"  stored            {len(ours)} answers, {len(ours) / span:.0f}/s"
        f" ({since} to last handled: {span:.1f} s)"
    )
    total = sum(spent.values())
    print(
        f"  CPU in the burst   {total:.1f} s of {2 * args.seconds:.0f} on 2 cores: "
        + ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in spent.items())
        + (" (the killed process's CPU not counted)" if args.kill else "")
    )
    verdict = "yes" if not missing else f"NO, {len(missing)} missing"
    print(f"  every acknowledged answer stored: {verdict}; stored twice: {len(twice)}")
    if missing or twice:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        load_main(sys.argv[2])
    else:
        asyncio.run(main())
