"""What WhatsApp bills: templates counted per community and month, shown in ``indaba
status``, and a monthly cap past which templates wait and nothing is lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from adapters.whatsapp import WhatsAppAdapter
from bot.app import admin
from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import Community, Identity, OutboxMessage
from storage.statuses import OutboxStatus
from tests.fakes.whatsapp_api import FakeWhatsApp, WhatsAppCall
from tests.harness import Harness
from tests.whatsapp.conftest import World, adapter_settings, start_indaba_http

FATIMA = "2348030000009"
MEMBERS = [f"27710000{i:03d}" for i in range(1, 5)]


def to(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
    return [c for c in calls if c.to == wa_id]


def templates(w: World, wa_id: str | None = None) -> list[WhatsAppCall]:
    return [c for c in w.fake.sent(wa_id) if c.type == "template"]


async def news(w: World, key: str) -> None:
    async with w.h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        await w.h.indaba.outbox.put(
            session,
            [
                Envelope(
                    f"{key}:{wa_id}",
                    OutgoingMessage(Address("whatsapp", ConversationKind.DM, wa_id), key),
                    community_id=community.id,
                )
                for wa_id in MEMBERS
            ],
        )


async def status(w: World) -> str:
    timetable = admin.planning_timetable(w.h.indaba.sessions, w.h.indaba.settings, w.h.clock)
    return await admin.describe(w.h.indaba.sessions, timetable, w.h.clock.now())


async def test_past_the_monthly_cap_templates_wait_and_nothing_is_lost(world: World) -> None:
    w = world
    setup, join = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    for n, wa_id in enumerate(MEMBERS, start=1):
        await w.say(wa_id, f"/join {join}", name=f"Member {n}")
    async with w.h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, "monthly_template_cap": 2}
    await w.advance(days=2)  # every window closed
    await w.say(FATIMA, "Hello")

    await news(w, "News")
    sent = await w.settle()
    assert w.fake.errors == {}
    reopened = [c.to for c in sent if c.type == "template"]
    assert reopened == MEMBERS[:2], "two templates, the cap"
    [note] = to(sent, FATIMA)
    assert note.text.startswith("*Lagos Civic Tech* has sent its 2 WhatsApp templates")
    assert "from Tuesday 1 December" in note.text
    # More waits the same day: no template, and the facilitator is not told twice.
    await news(w, "More news")
    assert await w.settle() == []
    assert w.fake.billed["utility"] == 2
    metrics = w.h.indaba.metrics.render().decode()
    assert 'indaba_templates_sent_total{community="1",platform="whatsapp"} 2.0' in metrics
    lines = (await status(w)).splitlines()
    assert "  whatsapp in November: 2 templates (billed, cap 2), " in "\n".join(lines)

    # A member past the cap writes: her window is open, what waited reaches her, free.
    third, fourth = MEMBERS[2], MEMBERS[3]
    got = [c.text for c in to(await w.say(third, "Hi"), third)]
    assert got[0] == "News\n\nMore news"
    # The month turns: the template that waited goes, once, and only where something
    # still waits.
    await w.h.clock.advance(datetime(2026, 11, 30, 23, 0, tzinfo=UTC) - w.h.clock.now())
    await w.settle()
    assert len(templates(w)) == 2, "none past the cap all month"
    held = await held_for(w)
    assert third not in held and fourth in held
    await w.h.clock.advance(datetime(2026, 12, 1, 0, 30, tzinfo=UTC) - w.h.clock.now())
    sent = await w.settle()
    reopened = [c.to for c in sent if c.type == "template"]
    assert fourth in reopened and len(reopened) == len(set(reopened))
    assert set(reopened) <= held
    assert len(templates(w, fourth)) == 1 and templates(w, third) == []
    got = [c.text for c in to(await w.say(fourth, "Hello?"), fourth)]
    assert got[0] == "News\n\nMore news"
    assert fourth not in await held_for(w)
    assert set(MEMBERS[:2]) <= await held_for(w), "the first two still have to reply"
    assert w.fake.errors == {}


async def held_for(w: World) -> set[str]:
    async with w.h.indaba.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.conversation_id).where(OutboxMessage.status == OutboxStatus.HELD)
        )
        return set(rows.all())


async def test_past_the_cap_a_member_linked_elsewhere_gets_it_there(
    database_url: str, tmp_path: Path, fake: FakeWhatsApp
) -> None:
    memory = MemoryAdapter()
    h = await Harness.create(
        database_url, tmp_path, adapters=[WhatsAppAdapter(adapter_settings(fake)), memory],
        http_port=0,
    )  # fmt: skip
    try:
        fake.clock = h.clock.now
        fake.webhook_url = f"{await start_indaba_http(h)}/whatsapp/webhook"
        w = World(h, fake, next(a for a in h.indaba.adapters.values() if a.name == "whatsapp"))
        kwame, amina = MEMBERS[0], MEMBERS[1]
        setup, join = await h.create_community()
        await w.say(FATIMA, f"/setup {setup}", name="Fatima")
        await w.say(kwame, f"/join {join}", name="Kwame")
        await w.say(amina, f"/join {join}", name="Amina")
        [code] = re.findall(
            r"\*([A-Z0-9-]{4,})\*", next(c.text for c in await w.say(amina, "/link"))
        )
        linked = await h.say("amina", f"/link {code}")
        assert any("linked" in s.message.text.lower() for s in linked)
        async with h.indaba.sessions() as session, session.begin():
            community = await session.scalar(select(Community))
            assert community is not None
            community.settings = {**community.settings, "monthly_template_cap": 1}
        await w.advance(days=2)
        h.adapter.pop()
        for wa_id in (kwame, amina):  # to their WhatsApp: the cap lets one template go
            async with h.indaba.sessions() as session, session.begin():
                await h.indaba.outbox.put_one(
                    session,
                    Envelope(
                        f"news:{wa_id}",
                        OutgoingMessage(Address("whatsapp", ConversationKind.DM, wa_id), "News"),
                        community_id=community.id,
                        member_id=await member_of(h, wa_id),
                    ),
                )
        sent = await w.settle()
        assert [c.to for c in sent if c.type == "template"] == [kwame]
        # Amina's news goes to her other platform instead of waiting for next month.
        async with h.indaba.sessions() as session:
            there = await session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key == f"news:{amina}:via:memory"
                )
            )
            assert there is not None and there.status == OutboxStatus.SENT
            assert (there.conversation_id, there.text) == ("amina", "News")
        assert to(sent, amina) == []
        async with h.indaba.sessions() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == f"news:{amina}")
            )
            assert row is not None and row.status == OutboxStatus.EXPIRED
            assert row.last_error == "sent on memory: the monthly template cap is reached"
        assert amina not in await held_for(w)
        assert kwame in await held_for(w)
    finally:
        await h.aclose()


async def member_of(h: Harness, wa_id: str) -> int:
    async with h.indaba.sessions() as session:
        found = await session.scalar(select(Identity.member_id).where(Identity.user_id == wa_id))
        assert found is not None
        return found
