"""DM fan-out to WhatsApp members through the real delivery loop and the rate-limited fake.

Runs ``bot.app.wiring.Indaba`` with the WhatsApp adapter (80 messages/s per number, about
1 per 6 s per member) against the fake Cloud API enforcing the same limits (130429,
131056) and the 24-hour window (131047), on SQLite, and prints the rates:

- window open: every member wrote an hour ago; one question each goes out directly;
- window closed: every member last wrote two days ago; the loop holds the questions and
  sends the approved template; each member taps its button (a signed webhook to
  Indaba's /whatsapp/webhook) and the held question follows. Every other member also
  has a digest DM a week old waiting: it expires instead of going out.

    python benchmarks/whatsapp_fanout.py --members 500
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from adapters.whatsapp import WhatsAppAdapter, WhatsAppSettings  # noqa: E402
from benchmarks.members import add_members  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.wiring import Indaba  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from bot.messages import Address, ConversationKind, OutgoingMessage  # noqa: E402
from bot.runtime.outbox import Envelope  # noqa: E402
from storage.models import Base, OutboxMessage  # noqa: E402
from tests.fakes.whatsapp_api import FakeWhatsApp  # noqa: E402

TEMPLATE = "indaba_reopen"


def wa_id(i: int) -> str:
    return f"2348{i:09d}"


async def seed(indaba: Indaba, members: int, last_inbound: datetime, stale: bool) -> None:
    now = datetime.now(UTC)
    async with indaba.sessions() as session, session.begin():
        community = await onboarding.create_community(session, "Bench CoP", "UTC", "en", now)
        ids = await add_members(session, community, members, "whatsapp", wa_id, now, last_inbound)
        await indaba.outbox.put(
            session,
            [
                Envelope(
                    f"bench:{i}",
                    OutgoingMessage(
                        Address("whatsapp", ConversationKind.DM, wa_id(i)),
                        "**Question 1 of 3**\nWhat worked well since we last met?",
                    ),
                    community_id=community.id,
                    member_id=member_id,
                )
                for i, member_id in enumerate(ids)
            ],
        )
        if stale:
            await indaba.outbox.put(
                session,
                [
                    Envelope(
                        f"digest:bench:{i}",
                        OutgoingMessage(
                            Address("whatsapp", ConversationKind.DM, wa_id(i)), "Last week's news"
                        ),
                        community_id=community.id,
                        member_id=member_id,
                    )
                    for i, member_id in enumerate(ids)
                    if i % 2 == 0
                ],
            )
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.idempotency_key.like("digest:%"))
                .values(created_at=now - timedelta(days=8))
            )


async def count(indaba: Indaba, *where: object) -> int:
    async with indaba.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0
        )


async def wait_sent(indaba: Indaba, expected: int, *where: object) -> float:
    started = time.perf_counter()
    while await count(indaba, OutboxMessage.status == "sent", *where) < expected:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def run(members: int, window_open: bool) -> None:
    fake = FakeWhatsApp(templates={TEMPLATE}, number_rate=80, pair_interval=6.0, pair_burst=3)
    await fake.start()
    now = datetime.now(UTC)
    last = now - (timedelta(hours=1) if window_open else timedelta(days=2))
    for i in range(members):
        fake.last_inbound[wa_id(i)] = last
    adapter = WhatsAppAdapter(
        WhatsAppSettings(
            access_token=fake.access_token,
            phone_number_id=fake.phone_number_id,
            app_secret=fake.app_secret,
            verify_token="v",
            api_url=fake.url,
            template_name=TEMPLATE,
        )
    )
    tmp = tempfile.mkdtemp()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp}/bench.db", data_dir=Path(tmp), http_port=0
    )
    indaba = Indaba(settings, [adapter])
    async with indaba.db.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await indaba.start(schedule=False)
    await indaba.serve_http()
    server = indaba._server
    assert server is not None
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    fake.webhook_url = (
        f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/whatsapp/webhook"
    )
    await seed(indaba, members, last, stale=not window_open)
    label = "open" if window_open else "closed"
    if window_open:
        seconds = await wait_sent(indaba, members)
        print(
            f"window {label}: {members} questions in {seconds:.1f}s = {members / seconds:.1f} msg/s"
        )
    else:
        templates = OutboxMessage.idempotency_key.like("reopener:%")
        seconds = await wait_sent(indaba, members, templates)
        print(
            f"window {label}: {members} templates in {seconds:.1f}s = {members / seconds:.1f} msg/s"
        )
        template_ids = {c.to: c.wamid for c in fake.sent() if c.type == "template"}
        held = await count(indaba, OutboxMessage.status == "held")
        print(f"  held while the templates went out: {held}")
        started = time.perf_counter()
        for i in range(members):
            await fake.member_taps_template(wa_id(i), template_ids[wa_id(i)] or "")
        questions = OutboxMessage.idempotency_key.like("bench:%")
        await wait_sent(indaba, members, questions)
        seconds = time.perf_counter() - started
        print(
            f"window {label}: {members} taps then {members} questions in {seconds:.1f}s "
            f"= {members / seconds:.1f} questions/s"
        )
    print(
        f"  API errors: 130429={fake.errors[130429]} 131056={fake.errors[131056]} "
        f"131047={fake.errors[131047]}; accepted calls={len(fake.sent())}; "
        f"templates={len([c for c in fake.sent() if c.type == 'template'])}; "
        f"held now={await count(indaba, OutboxMessage.status == 'held')}; "
        f"expired={await count(indaba, OutboxMessage.status == 'expired')}; "
        f"billed={dict(fake.billed)}"
    )
    await indaba.aclose()
    await fake.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(args.members, window_open=True))
    asyncio.run(run(args.members, window_open=False))


if __name__ == "__main__":
    main()
