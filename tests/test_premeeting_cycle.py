"""The pre-meeting cycle through the engine: questions, answers, reminder, brief."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Member, OutboxMessage, Reply
from tests.harness import Harness, to


async def add_meeting(h: Harness, when: str = "2026-11-20 14:00") -> None:
    date, time = when.split()
    sent = await h.say("fatima", f"/meeting add {date} {time} November meeting", "#cop")
    assert "Planned" in to(sent, "#cop")[0]


async def test_full_cycle(harness: Harness) -> None:
    h = harness
    await h.setup_community()
    await add_meeting(h)
    # 7 days before at 09:00 Lagos time (08:00 UTC): the questions go out.
    sent = await h.advance(days=11, hours=3)
    # Members are asked; the facilitator gets the brief instead.
    assert {s.message.address.conversation_id for s in sent} == {"amina", "kwame", "thandi"}
    assert all(
        "Question 1 of 3" in s.message.text or "Will you come" in s.message.text for s in sent
    )

    reply = await h.say("amina", "Our budget portal went live")
    assert to(reply, "amina")[0].startswith("Saved as your answer to question 1 of 3")
    assert "Question 2 of 3" in to(reply, "amina")[1]
    await h.say("amina", "Procurement data")
    done = await h.say("amina", "Open contracting")
    assert "All your answers" in to(done, "amina")[1]
    await h.say("kwame", "We trained 40 clerks")

    # 3 days before: the reminder goes to those with questions left, not to amina.
    sent = await h.advance(days=4)
    reminded = {s.message.address.conversation_id for s in sent}
    assert reminded == {"kwame", "thandi"}
    assert "2 of your 3 questions" in to(sent, "kwame")[0]

    # 1 day before: the facilitator gets the brief.
    sent = await h.advance(days=2)
    brief = to(sent, "fatima")
    assert len(brief) == 1
    # Kwame answered 1 of 3: he has not answered every question, so the rate is 1 in 3.
    assert "**1 of 3 members answered every question (33%)**; 1 answered some of them" in brief[0]
    assert "Amina 3 of 3 · Kwame 1 of 3 · Thandi 0 of 3" in brief[0]
    assert "Amina: Our budget portal went live" in brief[0]
    assert "Kwame: We trained 40 clerks" in brief[0]

    # Firing everything again sends nothing twice.
    assert await h.indaba.timetable.run_due() == 0
    assert await h.settle() == []


async def test_reply_to_attributes_answer_and_edits(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)
    first = next(s for s in sent if s.message.address.conversation_id == "amina")
    await h.say("amina", "First answer")
    await h.say("amina", "Second answer")
    updated = await h.say("amina", "Better first answer", reply_to=first.ref.message_id)
    assert "updated" in to(updated, "amina")[0]
    async with h.indaba.sessions() as session:
        answers = sorted((await session.scalars(select(Reply.text))).all())
    assert answers == ["Better first answer", "Second answer"]


async def test_nobody_answers_someone_elses_question(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)
    kwames = next(s for s in sent if s.message.address.conversation_id == "kwame")
    await h.say("amina", "my answer", reply_to=kwames.ref.message_id)
    async with h.indaba.sessions() as session:
        owners = (
            await session.scalars(
                select(Member.display_name).join(Reply, Reply.member_id == Member.id)
            )
        ).all()
    assert owners == ["Amina"]


async def test_same_event_twice_is_handled_once(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await add_meeting(h)
    await h.advance(days=11, hours=3)
    from bot.messages import Conversation, ConversationKind, MessageReceived, Sender

    event = MessageReceived(
        Conversation("memory", "amina", ConversationKind.DM),
        Sender("memory", "amina", "Amina"),
        "platform-msg-1",
        text="Our portal went live, once",
    )
    await h.adapter.push(event)
    await h.adapter.push(event)
    await h.settle()
    async with h.indaba.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reply)) == 1
        to_amina = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.like("prompt:%"),
                OutboxMessage.conversation_id == "amina",
            )
        )
        # Question 1, then question 2 once, however often the answer arrived.
        assert await session.scalar(to_amina) == 2
