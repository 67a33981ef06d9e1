"""A CoP's month on WhatsApp, asserted on what the fake Cloud API received."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import AgendaItem, AgendaVote, Reply
from tests.fakes.whatsapp_api import WhatsAppCall
from tests.whatsapp.conftest import World

FATIMA, AMINA, KWAME, THANDI = "2348030000009", "2348030000001", "2348030000002", "27820000003"


# Long enough that the harvest no longer fits one WhatsApp message.
LONG_ANSWER = "Open contracting. " + "We published every tender and contract award. " * 75


def to(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
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

    # Two weeks before, the agenda opens for proposals. Nobody has written for four
    # days, so each member gets the approved template and the announcement waits.
    sent = await w.advance(days=4, hours=3)
    for wa_id in (FATIMA, AMINA, KWAME, THANDI):
        assert [c.type for c in to(sent, wa_id)] == ["template"]
    # Members propose in their chat with the bot; writing opens the window, so the
    # announcement arrives with the thanks.
    for wa_id, title in (
        (AMINA, "Open data portals"),
        (KWAME, "Procurement monitoring"),
        (FATIMA, "Budget literacy"),
    ):
        sent = await w.say(wa_id, f"/agenda add {title}")
        got = [c.text for c in to(sent, wa_id)]
        assert any("open for proposals" in t for t in got)
        assert got[-1].startswith("Added as item")
    assert w.fake.errors == {}

    # Amina writes the evening before the questions go out: her window is open then.
    await w.advance(days=6, hours=9)
    await w.say(AMINA, "Looking forward to the meeting")
    sent = await w.advance(hours=15)
    question = next(c for c in to(sent, AMINA) if "Question 1 of 3" in c.text)
    assert question.type == "text"
    # The ballot reaches each member as a DM with a reply button per item.
    [ballot] = [c for c in to(sent, AMINA) if c.type == "interactive" and "agenda" in c.text]
    assert "*Vote on the agenda of November meeting*" in ballot.text
    assert ballot.payload["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in ballot.payload["interactive"]["action"]["buttons"]]
    assert titles == ["Open data portals", "Procurement monitor…", "Budget literacy"]
    item_ids = ballot.choice_ids
    # Kwame and Thandi last wrote days ago: the approved template only (the facilitator
    # too: the ballot waits for her).
    for wa_id in (FATIMA, KWAME, THANDI):
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
    kwames_ballot = next(
        c for c in to(sent, KWAME) if c.type == "interactive" and "agenda" in c.text
    )
    # Thandi taps the template's quick-reply button instead.
    template = to(sent_templates, THANDI)[0]
    assert template.wamid is not None
    await w.fake.member_taps_template(THANDI, template.wamid)
    sent = await w.settle()
    assert any("Question 1 of 3" in c.text for c in to(sent, THANDI))
    thandis_ballot = next(
        c for c in to(sent, THANDI) if c.type == "interactive" and "agenda" in c.text
    )

    # Answers: Amina all three, Kwame one by replying to the question itself.
    reply = await w.say(AMINA, "Our budget portal went live")
    assert to(reply, AMINA)[0].text.startswith("Saved as your answer to question 1 of 3")
    assert "Question 2 of 3" in to(reply, AMINA)[1].text
    await w.say(AMINA, "Procurement *data* _now_")
    done = await w.say(AMINA, LONG_ANSWER)
    assert "All your answers" in to(done, AMINA)[1].text
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
    fatimas_ballot = next(c for c in brief if c.type == "interactive")
    text = "\n".join(c.text for c in brief)
    # Kwame answered one question of three: not a complete answer.
    assert "1 of 3 members answered every question (33%)" in text
    assert "Received the questions (2)*: Amina, Kwame. *Read them (1)*: Amina." in text
    assert "We trained 40 clerks" in text
    # What Amina typed reaches the facilitator as typed, never as formatting.
    assert "*data*" not in text and "data" in text

    async with w.h.indaba.sessions() as session:
        answers = sorted((await session.scalars(select(Reply.text))).all())
    assert "Hi, what is it?" not in answers
    assert len(answers) == 4

    # Votes: taps on the ballot's buttons arrive as signed interactive webhooks; a tap
    # adds a vote and a second tap on the same button takes it back.
    data, procurement, budget = item_ids
    for wa_id, wamid, item, told in (
        (AMINA, ballot.wamid, data, "Your votes: 1."),
        (AMINA, ballot.wamid, procurement, "Your votes: 1, 2."),
        (KWAME, kwames_ballot.wamid, procurement, "Your votes: 2."),
        (KWAME, kwames_ballot.wamid, budget, "Your votes: 2, 3."),
        (THANDI, thandis_ballot.wamid, data, "Your votes: 1."),
        (AMINA, ballot.wamid, data, "Your votes: 2."),  # changed her mind
        (THANDI, thandis_ballot.wamid, data, "You have no votes now."),  # retracted
    ):
        assert wamid is not None
        [confirmation] = to(await w.tap(wa_id, wamid, item), wa_id)
        assert confirmation.text.startswith(told)
    # The facilitator's ballot waited for her window; she answers it by number.
    assert "1. Open data portals" in fatimas_ballot.text
    [confirmation] = to(await w.say(FATIMA, "2 3"), FATIMA)
    assert confirmation.text.startswith("Your votes: 2, 3.")
    async with w.h.indaba.sessions() as session:
        counts = (
            await session.execute(
                select(AgendaItem.title, func.count(AgendaVote.member_id))
                .join(AgendaVote, AgendaVote.item_id == AgendaItem.id)
                .group_by(AgendaItem.title)
                .order_by(AgendaItem.title)
            )
        ).all()
    assert [tuple(c) for c in counts] == [("Budget literacy", 2), ("Procurement monitoring", 3)]

    # The facilitator closes the vote; the ranked agenda reaches every member as a DM.
    sent = await w.say(FATIMA, "/agenda close")
    ranking = [
        "1. Procurement monitoring · 3 votes",
        "2. Budget literacy · 2 votes",
        "3. Open data portals · 0 votes",
    ]
    for wa_id in (FATIMA, AMINA, KWAME, THANDI):
        texts = [c.text for c in to(sent, wa_id)]
        assert len(texts) == 1, f"{wa_id} gets the ranked agenda, once"
        for text in texts:
            assert text.startswith("*Agenda of November meeting*\n")
            assert text.splitlines()[1:4] == [f"• {line}" for line in ranking]
    assert w.fake.errors == {}

    # Monday 16 November, 09:00 in Lagos: the digest. Nobody wrote for three days, so
    # each member gets the template; the digest follows when they come back.
    sent = await w.advance(days=3)
    assert sorted(c.to for c in sent) == sorted((FATIMA, AMINA, KWAME, THANDI))
    assert {c.type for c in sent} == {"template"}
    await w.fake.member_taps_template(AMINA, to(sent, AMINA)[0].wamid or "")
    [digest] = [c.text for c in to(await w.settle(), AMINA) if "This week in" in c.text]
    assert digest.startswith("*This week in Lagos Civic Tech*\n")
    assert (
        "*Agenda standings*\n"
        "• Procurement monitoring · 3 votes\n"
        "• Budget literacy · 2 votes\n"
        "• Open data portals · 0 votes\n"
    ) in digest
    assert "*Participation:* 1 of 3 answered every pre-meeting question (33%)." in digest
    assert await w.h.indaba.timetable.run_due() == 0

    # After the meeting the facilitator asks for the harvest on WhatsApp: it comes as
    # DMs, split to fit WhatsApp's 4096 characters, with the ranked agenda.
    await w.advance(days=5)
    sent = await w.say(KWAME, "/harvest")
    assert [c.text for c in to(sent, KWAME)][-1] == (
        "Only a facilitator can use /harvest. Ask Fatima."
    )
    sent = to(await w.say(FATIMA, "/harvest"), FATIMA)
    start = next(i for i, c in enumerate(sent) if c.text.startswith("*Harvest: November"))
    harvest = sent[start:]
    assert len(harvest) == 2
    assert all(c.type == "text" and len(c.text) <= 4096 for c in harvest)
    whole = "\n".join(c.text for c in harvest)
    assert LONG_ANSWER.strip() in whole
    for line in ranking:
        assert f"• {line}" in whole
    assert "• Response rate: 33%" in whole
    assert w.fake.errors == {}
