"""A long queue in one conversation: how fast the inbox hands it out, in order.

Stores ``--events`` inbound events of one conversation (a busy channel) and times the
real inbox loop (``Inbox.run``) handling them with a handler that does nothing, so
what is measured is the claim and the hand-over, not the engine. Prints events per
second on each database asked for.

    python benchmarks/inbox_queue.py                  # 1,000 events, SQLite and PostgreSQL
    python benchmarks/inbox_queue.py --events 5000 --database sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.engine.engine import event_key  # noqa: E402
from bot.messages import (  # noqa: E402
    Conversation,
    ConversationKind,
    InboundEvent,
    MessageReceived,
    Sender,
)
from bot.runtime.clock import SystemClock  # noqa: E402
from bot.runtime.inbox import Inbox  # noqa: E402
from bot.runtime.metrics import Metrics  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


async def run(database: str, events: int) -> float:
    schema = None
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/queue.db"
    else:
        url, schema = await create_schema("queue")
    db = create_engine(url)
    handled = 0
    everything = asyncio.Event()

    async def handler(session: AsyncSession, event: InboundEvent) -> None:
        nonlocal handled
        handled += 1
        if handled == events:
            everything.set()

    inbox = Inbox(session_factory(db), SystemClock(), Metrics(), handler, event_key)
    try:
        await upgrade(db)
        sender = Sender("memory", "busy", "Busy")
        channel = Conversation("memory", "busy-channel", ConversationKind.GROUP, "Busy")
        sent_at = datetime.now(UTC)
        await asyncio.gather(
            *(
                inbox.put(MessageReceived(channel, sender, f"m{n}", text=str(n), sent_at=sent_at))
                for n in range(events)
            )
        )
        started = time.perf_counter()
        worker = asyncio.create_task(inbox.run())
        await everything.wait()
        seconds = time.perf_counter() - started
        inbox.stop()
        await worker
        return seconds
    finally:
        await inbox.aclose()
        await db.dispose()
        if schema is not None:
            await drop_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        seconds = asyncio.run(run(database, args.events))
        print(
            f"{database}: {args.events} events of one conversation handled in order in "
            f"{seconds:.1f} s ({args.events / seconds:.0f}/s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
