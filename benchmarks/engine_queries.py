"""What one inbound answer costs the database, and where the statements go.

Seeds a community of WhatsApp members who were all asked the meeting's questions,
then has every member answer them, one round per question, through a whole Indaba
in this process (the inbox stores each event, claims it and hands it to the engine,
as ``indaba run`` does; the platform is an in-memory one with WhatsApp's capabilities,
so nothing is sent). Every SQL statement is counted with a ``before_cursor_execute``
listener and attributed to the function of Indaba's that sent it. Prints, per round:

- statements per answer while the engine handles it, and in the inbox around it;
- answers handled per second in this one process (a rough figure on a shared machine),
  through the inbox and, for half of the plain answers, by the engine alone;

then the statements of one plain answer (the second round), by where they come from.

    python benchmarks/engine_queries.py --database sqlite
    python benchmarks/engine_queries.py --database postgres --members 500
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from adapters.memory import MemoryAdapter  # noqa: E402
from adapters.whatsapp.adapter import CAPABILITIES  # noqa: E402
from benchmarks.members import add_members, bench_meeting  # noqa: E402
from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.messages import Conversation, ConversationKind, MessageReceived, Sender  # noqa: E402
from storage.models import Community, OutboxMessage, Reply  # noqa: E402
from storage.statuses import OutboxStatus  # noqa: E402
from tests.harness import Harness  # noqa: E402
from tests.queries import Queries, counting  # noqa: E402

ROUNDS = ("first answer (a new private chat)", "plain answer", "last answer")


def wa_id(i: int) -> str:
    return f"2547{i:08d}"


async def database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'indaba.db'}", None
    return await create_schema()


async def seed(h: Harness, members: int) -> None:
    """``members`` WhatsApp members of one community, asked a meeting's first question."""
    indaba = h.indaba
    await h.create_community("Bench CoP", "UTC")
    now = h.clock.now()
    async with indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        await add_members(session, community, members, "whatsapp", wa_id, now, now)
        meeting = await bench_meeting(session, community, now)
        await indaba.engine.questions.ask_all(session, community, meeting, now)
        # The questions went out already: only the answers are measured.
        await session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT, sent_at=now))
    # Past every member's hour for their first question.
    await h.clock.advance(timedelta(hours=12))


def answer(i: int, round_: int) -> MessageReceived:
    return MessageReceived(
        Conversation("whatsapp", wa_id(i), ConversationKind.DM),
        Sender("whatsapp", wa_id(i), f"Member {i}"),
        f"wamid.BENCH{i:08d}Q{round_}",
        text=f"Answer {round_ + 1}: boreholes and community wells, {i}",
    )


async def through_inbox(
    h: Harness, adapter: MemoryAdapter, members: range, round_: int, queries: Queries
) -> tuple[int, int, float]:
    """Each of ``members`` answers once, stored and handled through the inbox:
    statements in the handling and around it, and the seconds the handling took."""
    queries.clear()
    for i in members:
        await adapter.push(answer(i, round_))
    started = time.perf_counter()
    await h.indaba.inbox.drain()
    elapsed = time.perf_counter() - started
    adapter.pop()
    counted = [s for s in queries.statements if s.verb != "BEGIN"]
    engine = [s for s in counted if s.within("handle_stored")]
    return len(engine), len(counted) - len(engine), elapsed


async def engine_alone(h: Harness, members: range, round_: int) -> tuple[float, float]:
    """Each of ``members`` answers once, handed to the engine directly, one transaction
    each (what the inbox does after claiming); the seconds it took, and the CPU seconds
    of this process (the database's own work left out)."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in members:
        async with h.indaba.sessions() as session, session.begin():
            await h.indaba.engine.handle_stored(session, answer(i, round_))
    return time.perf_counter() - started, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--members", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url, schema = await database(args.database, Path(tmp))
        adapter = MemoryAdapter(name="whatsapp", capabilities=CAPABILITIES)
        h = await Harness.create(url, Path(tmp), adapters=[adapter])
        try:
            await seed(h, args.members)
            plain: Queries | None = None
            n = args.members
            print(f"{args.database}: {n} members answering, one round per question")
            for round_, name in enumerate(ROUNDS):
                # The plain answers: half through the inbox, half to the engine alone.
                half = n // 2 if round_ == 1 else n
                with counting(h.indaba.db) as queries:
                    engine, around, elapsed = await through_inbox(
                        h, adapter, range(half), round_, queries
                    )
                    if round_ == 1:
                        plain = Queries(list(queries.statements))
                print(
                    f"  {name:<34} {engine / half:5.1f} statements handling, "
                    f"{around / half:4.1f} in the inbox; {half / elapsed:6.0f} answers/s"
                )
                if half < n:
                    alone, cpu = await engine_alone(h, range(half, n), round_)
                    rate, per = (n - half) / alone, cpu / (n - half) * 1000
                    print(
                        f"  {'  the engine alone':<34} {f'{per:.1f} ms of CPU an answer':>42}"
                        f"{rate:6.0f} answers/s"
                    )
            async with h.indaba.sessions() as session:
                stored = await session.scalar(select(func.count(Reply.id)))
            print(f"  answers stored: {stored} of {args.members * len(ROUNDS)}")
            assert plain is not None
            print("  one plain answer, by where its statements come from:")
            for where, count in plain.by_caller("handle_stored").most_common():
                print(f"    {count / (n // 2):4.1f}  {where}")
        finally:
            await h.aclose()
            if schema is not None:
                await drop_schema(schema)


if __name__ == "__main__":
    asyncio.run(main())
