"""Who the meeting's questions reached on WhatsApp, member by member, as the brief's
author reads it from the outbox (bot.engine.services.reachability.question_reach)."""

from __future__ import annotations

from sqlalchemy import select

from bot.engine.services.reachability import Reached, question_reach
from storage.models import Meeting
from tests.fakes.whatsapp_api import WhatsAppCall
from tests.whatsapp.conftest import World

FATIMA = "2348030000009"
AMINA, KWAME, THANDI, SIPHO, ZOLA = (f"234803000000{i}" for i in range(1, 6))
NAMES = {AMINA: "Amina", KWAME: "Kwame", THANDI: "Thandi", SIPHO: "Sipho", ZOLA: "Zola"}


def question(calls: list[WhatsAppCall], wa_id: str) -> WhatsAppCall:
    return next(c for c in calls if c.to == wa_id and "Question 1 of 3" in c.text)


async def test_each_member_is_named_as_read_received_or_unreachable(world: World) -> None:
    w = world
    setup, join = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    for wa_id, name in NAMES.items():
        await w.say(wa_id, f"/join {join}", name=name)
    await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    await w.advance(days=10, hours=12)
    # Everyone but Zola wrote the evening before; Sipho's number stopped receiving.
    for wa_id in (AMINA, KWAME, THANDI, SIPHO):
        await w.say(wa_id, "See you at the meeting")
    w.fake.undeliverable.add(SIPHO)
    sent = await w.advance(hours=15)
    for wa_id, status in ((AMINA, "read"), (KWAME, "delivered")):
        wamid = question(sent, wa_id).wamid
        assert wamid is not None
        await w.fake.report_status(wamid, wa_id, status)
    await w.settle()

    async with w.h.indaba.sessions() as session:
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        reach = await question_reach(session, meeting.id)
        got = {r.member.display_name: r.reached for r in reach}
    assert got == {
        "Amina": Reached.READ,
        "Kwame": Reached.RECEIVED,
        "Thandi": Reached.SENT,
        "Sipho": Reached.UNREACHABLE,
        "Zola": Reached.WAITING,
    }
