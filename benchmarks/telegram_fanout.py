"""DM fan-out on Telegram: 1,000 members through Indaba's real delivery loop.

Runs a whole Indaba (outbox, delivery loop, the Telegram adapter with its pacing)
against the fake Bot API enforcing Telegram's limits (30 messages/s overall, 1/s per
chat) and prints the sustained rate and the 429s it caused.

    python benchmarks/telegram_fanout.py [MEMBERS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from adapters.telegram.adapter import TelegramAdapter  # noqa: E402
from adapters.telegram.settings import TelegramSettings  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.messages import Address, ConversationKind, OutgoingMessage  # noqa: E402
from bot.runtime.outbox import Envelope  # noqa: E402
from storage.models import Base  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram  # noqa: E402


async def fan_out(members: int) -> None:
    fake = await FakeTelegram(limits=FakeLimits(per_second=30, per_chat_per_second=1)).start()
    for user_id in range(1, members + 1):
        fake.user(user_id, f"Member {user_id}")
        fake.started.add(user_id)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}", data_dir=Path(tmp)
        )
        adapter = TelegramAdapter(TelegramSettings(bot_token=SecretStr(TOKEN), api_url=fake.url))
        indaba = Indaba(settings, [adapter])
        async with indaba.db.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await indaba.start(deliver=False, schedule=False)
        async with indaba.sessions() as session, session.begin():
            await indaba.outbox.put(
                session,
                [
                    Envelope(
                        f"fanout:{user_id}",
                        OutgoingMessage(
                            Address("telegram", ConversationKind.DM, str(user_id)),
                            f"**Question 1 of 3** for member {user_id}",
                        ),
                    )
                    for user_id in range(1, members + 1)
                ],
            )
        fake.clear()
        started = time.monotonic()
        loop = asyncio.create_task(indaba.delivery.run())
        # A progress probe on the fake, which has no event to wait for.
        while len(fake.called("sendMessage")) < members:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        indaba.delivery.stop()
        await loop
        await indaba.aclose()
    await fake.aclose()
    print(
        f"{members} DMs in {elapsed:.1f} s: {members / elapsed:.1f} messages/s "
        f"(ceiling 30/s), {fake.rate_limited} answered 429"
    )


if __name__ == "__main__":
    asyncio.run(fan_out(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
