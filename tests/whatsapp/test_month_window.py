"""A month on WhatsApp with half the members outside the 24-hour window on questions
day: each of them gets one template that day, the questions once they reply or tap,
and every answer is filed to the question it answers; nothing is lost, nothing twice."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import MeetingQuestion, OutboxMessage, Prompt, Reply
from storage.statuses import OutboxStatus, PromptStatus
from tests.fakes.whatsapp_api import WhatsAppCall
from tests.whatsapp.conftest import World

FATIMA = "2348030000009"
INSIDE = {"2348030000101": "Amina", "2348030000102": "Kwame", "2348030000103": "Thandi"}
OUTSIDE = {"2348030000201": "Sipho", "2348030000202": "Zola", "2348030000203": "Chipo"}
MEMBERS = {**INSIDE, **OUTSIDE}


def to(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
    return [c for c in calls if c.to == wa_id]


def answer(name: str, number: int) -> str:
    return f"{name} on question {number}: we mapped the water points of our district"


async def test_questions_day_with_half_the_members_outside_the_window(world: World) -> None:
    w = world
    setup, join = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    for wa_id, name in MEMBERS.items():
        await w.say(wa_id, f"/join {join}", name=name)
    await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    await w.advance(days=4, hours=3)  # proposals open (a template each: nobody wrote)
    await w.say("2348030000101", "/agenda add Open data portals")
    await w.say("2348030000201", "/agenda add Procurement monitoring")
    await w.advance(days=6, hours=9)
    # The evening before, half the members write; the others last wrote days ago.
    for wa_id in INSIDE:
        await w.say(wa_id, "Looking forward to the meeting")
    before = {wa_id: len(w.fake.sent(wa_id)) for wa_id in MEMBERS}

    day = await w.advance(hours=15)  # questions day (and the ballot)
    assert w.fake.errors == {}, "nothing was pushed into a closed window"
    for wa_id in OUTSIDE:
        assert [c.type for c in to(day, wa_id)] == ["template"], MEMBERS[wa_id]
    for wa_id in INSIDE:
        got = to(day, wa_id)
        assert "template" not in [c.type for c in got]
        assert sum("Question 1 of 3" in c.text for c in got) == 1
    # An hour later nothing more went to anyone outside: no second template that day.
    later = await w.advance(hours=1)
    assert all(to(later, wa_id) == [] for wa_id in OUTSIDE)

    # They come back: one in words, one by the template's button, one hours later.
    sipho, zola, chipo = OUTSIDE
    got = to(await w.say(sipho, "Hi, what is this about?"), sipho)
    assert sum("Question 1 of 3" in c.text for c in got) == 1
    template = next(c for c in w.fake.sent(zola) if c.type == "template")
    await w.fake.member_taps_template(zola, template.wamid or "")
    assert sum("Question 1 of 3" in c.text for c in to(await w.settle(), zola)) == 1
    await w.advance(hours=5)
    got = to(await w.say(chipo, "Good afternoon"), chipo)
    assert sum("Question 1 of 3" in c.text for c in got) == 1

    # Everyone answers the three questions in turn.
    for number in (1, 2, 3):
        for wa_id, name in MEMBERS.items():
            got = to(await w.say(wa_id, answer(name, number)), wa_id)
            if number < 3:
                assert any(f"Question {number + 1} of 3" in c.text for c in got), name

    async with w.h.indaba.sessions() as session:
        filed = (
            await session.execute(
                select(Reply.text, MeetingQuestion.position)
                .join(Prompt, Prompt.id == Reply.prompt_id)
                .join(MeetingQuestion, MeetingQuestion.id == Prompt.question_id)
            )
        ).all()
        prompts = (await session.scalars(select(Prompt))).all()
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("prompt:"))
            )
        ).all()
    # Each answer is filed to the question it answers, and only the answers are filed.
    assert sorted(text for text, _ in filed) == sorted(
        answer(name, n) for name in MEMBERS.values() for n in (1, 2, 3)
    )
    positions = sorted({p for _, p in filed})
    for text, position in filed:
        assert text.endswith(f"question {positions.index(position) + 1}: we mapped"
                             " the water points of our district")  # fmt: skip
    assert {p.status for p in prompts} == {PromptStatus.ANSWERED}
    # Nothing lost, nothing twice: every question went out once, to each member.
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    for wa_id, name in MEMBERS.items():
        texts = [c.text for c in w.fake.sent(wa_id)[before[wa_id] :]]
        for number in (1, 2, 3):
            assert sum(f"Question {number} of 3" in t for t in texts) == 1, (name, number)
        templates = [c for c in w.fake.sent(wa_id)[before[wa_id] :] if c.type == "template"]
        assert len(templates) == (1 if wa_id in OUTSIDE else 0), name
    assert w.fake.errors == {}
