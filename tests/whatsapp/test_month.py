"""A CoP's month on WhatsApp, asserted on what the fake Cloud API received."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Reply
from tests.fakes.whatsapp_api import Call
from tests.whatsapp.conftest import World

FATIMA, AMINA, KWAME, THANDI = "2348030000009", "2348030000001", "2348030000002", "27820000003"


def to(calls: list[Call], wa_id: str) -> list[Call]:
    return [c for c in calls if c.to == wa_id]


async def test_a_month_on_whatsapp(world: World) -> None:
    w = world
    setup, join = await w.h.create_community()

    # A facilitator claims the role, members join by code, all in 1:1 chats.
    sent = await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    assert to(sent, FATIMA), "the facilitator gets an answer"
    for wa_id, name in ((AMINA, "Amina"), (KWAME, "Kwame"), (THANDI, "Thandi")):
        sent = await w.say(wa_id, f"/join {join}", name=name)
        assert any("Welcome" in c.text for c in to(sent, wa_id))
    sent = await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    assert "Planned" in to(sent, FATIMA)[0].text

    # Amina writes the evening before the questions go out: her window is open then.
    await w.advance(days=10, hours=12)
    await w.say(AMINA, "Looking forward to the meeting")
    sent = await w.advance(hours=15)
    question = next(c for c in to(sent, AMINA) if "Question 1 of 3" in c.text)
    assert question.type == "text"
    # Kwame and Thandi last wrote eleven days ago: the approved template only.
    assert to(sent, FATIMA) == []
    for wa_id in (KWAME, THANDI):
        [reopener] = to(sent, wa_id)
        assert reopener.type == "template"
        assert reopener.payload["template"] == {
            "name": "indaba_reopen",
            "language": {"code": "en"},
        }
    assert w.fake.errors == {}, "nothing was pushed into a closed window"
    sent_templates = sent

    # Kwame replies to the template in words: he gets the question, his words are no answer.
    sent = await w.say(KWAME, "Hi, what is it?")
    # Everything held for him goes out now, the question among it.
    kwames_question = next(c for c in to(sent, KWAME) if "Question 1 of 3" in c.text)
    # Thandi taps the template's quick-reply button instead.
    template = to(sent_templates, THANDI)[0]
    assert template.wamid is not None
    await w.fake.member_taps_template(THANDI, template.wamid)
    sent = await w.settle()
    assert any("Question 1 of 3" in c.text for c in to(sent, THANDI))

    # Answers: Amina all three, Kwame one by replying to the question itself.
    reply = await w.say(AMINA, "Our budget portal went live")
    assert "Question 2 of 3" in to(reply, AMINA)[0].text
    await w.say(AMINA, "Procurement *data* _now_")
    done = await w.say(AMINA, "Open contracting")
    assert "All your answers" in to(done, AMINA)[0].text
    assert kwames_question.wamid is not None
    await w.say(KWAME, "We trained 40 clerks", reply_to=kwames_question.wamid)

    # Delivery statuses from the webhook reach the outbox.
    assert question.wamid is not None
    for status in ("sent", "delivered", "read"):
        await w.fake.report_status(question.wamid, AMINA, status)
    await w.fake.report_status(kwames_question.wamid, KWAME, "delivered")
    await w.settle()

    # The facilitator's brief, asked for on WhatsApp, says who answered, received, read.
    brief = to(await w.say(FATIMA, "/brief"), FATIMA)
    text = "\n".join(c.text for c in brief)
    assert "2 of 3 members answered" in text
    assert "received by 2, read by 1" in text
    assert "We trained 40 clerks" in text
    # What Amina typed reaches the facilitator as typed, never as formatting.
    assert "*data*" not in text and "data" in text

    async with w.h.indaba.sessions() as session:
        answers = sorted((await session.scalars(select(Reply.text))).all())
    assert "Hi, what is it?" not in answers
    assert len(answers) == 4
