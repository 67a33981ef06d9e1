"""DM fan-out on Slack: N members, each sent one DM through the real delivery loop
(Indaba with the Slack adapter, real clock) to the rate-limited fake Web API.

Prints the sustained rate (messages/s), the 429s the fake answered, and the calls
made. The fake enforces chat.postMessage at about 1/s per channel (burst 3), a
workspace-wide limit on chat.* and Slack's Tier 3 on conversations.open, all
adjustable.

    python benchmarks/slack_fanout.py --members 500
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from adapters.slack import SlackAdapter  # noqa: E402
from adapters.slack.client import Pacing  # noqa: E402
from adapters.slack.settings import SlackSettings  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.messages import Address, ConversationKind, OutgoingMessage  # noqa: E402
from bot.runtime.outbox import Envelope  # noqa: E402
from storage.models import Base, OutboxMessage  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, Limit  # noqa: E402


async def run(args: argparse.Namespace) -> None:
    fake = FakeSlack(
        channel_limit=Limit(1.0, 3.0, retry_after=1),
        workspace_limit=Limit(args.workspace_rate, args.workspace_rate, retry_after=1),
        method_limits={"conversations.open": Limit(args.open_per_minute / 60, 50, retry_after=5)},
    )
    for i in range(args.members):
        fake.add_user(f"U{i:06d}", f"Member {i}")
    await fake.start()
    pacing = Pacing(
        workspace_rate=args.pace,
        workspace_burst=args.pace,
        open_rate=args.open_per_minute / 60,
        open_burst=50,
    )
    adapter = SlackAdapter(
        SlackSettings(
            bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr("bench"), api_url=fake.url
        ),
        pacing=pacing,
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", data_dir=Path(tmp)
        )
        indaba = Indaba(settings, [adapter])
        async with indaba.db.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with indaba.sessions() as session, session.begin():
            await indaba.outbox.put(
                session,
                [
                    Envelope(
                        f"bench:{i}",
                        OutgoingMessage(
                            Address("slack", ConversationKind.DM, f"U{i:06d}"),
                            f"**Question 1 of 3** for member {i}",
                        ),
                    )
                    for i in range(args.members)
                ],
            )
        started = time.monotonic()
        await indaba.start(schedule=False)
        while True:
            async with indaba.sessions() as session:
                left = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != "sent")
                )
            if not left:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        await indaba.aclose()
    await fake.aclose()
    posted = len(fake.posted)
    print(f"members: {args.members}, DMs posted: {posted}, duplicates: {posted - args.members}")
    print(f"elapsed: {elapsed:.1f}s, sustained: {args.members / elapsed:.1f} messages/s")
    print(
        f"429s: {fake.rate_limited} "
        f"(conversations.open calls: {len(fake.calls_to('conversations.open'))}, "
        f"chat.postMessage calls: {len(fake.calls_to('chat.postMessage'))})"
    )
    print(
        f"fake limits: chat.* {args.workspace_rate}/s workspace, 1/s per channel; "
        f"conversations.open {args.open_per_minute}/min; adapter pacing {args.pace}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--workspace-rate", type=float, default=50.0)
    parser.add_argument("--open-per-minute", type=float, default=3000.0)
    parser.add_argument("--pace", type=float, default=50.0, help="adapter's workspace pacing")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
