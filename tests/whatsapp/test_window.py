"""The 24-hour window on WhatsApp (issue 11): the re-opener goes first and is never
held, stale held messages expire instead of going out, the member's first words after
a template are no answer (before and after a restart), and a ``failed`` status is
handled like a refusal at send time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.whatsapp import WhatsAppAdapter
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import Identity, OutboxMessage, Reply
from storage.statuses import OutboxStatus
from tests.fakes.whatsapp_api import FakeWhatsApp, WhatsAppCall
from tests.harness import Harness
from tests.whatsapp.conftest import World, adapter_settings, start_indaba_http

FATIMA, AMINA, KWAME = "2348030000009", "2348030000001", "2348030000002"


def to(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
    return [c for c in calls if c.to == wa_id]


async def rows(w: World, wa_id: str) -> list[OutboxMessage]:
    async with w.h.indaba.sessions() as session:
        found = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.conversation_id == wa_id)
            .order_by(OutboxMessage.id)
        )
        return list(found.all())


async def community(w: World, *members: tuple[str, str]) -> None:
    setup, join = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    for wa_id, name in members:
        await w.say(wa_id, f"/join {join}", name=name)
    await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")


async def put(w: World, wa_id: str, key: str, text: str, **options: bool) -> None:
    async with w.h.indaba.sessions() as session, session.begin():
        await w.h.indaba.outbox.put_one(
            session,
            Envelope(
                key,
                OutgoingMessage(Address("whatsapp", ConversationKind.DM, wa_id), text, **options),
            ),
        )


async def test_a_reopener_behind_other_rows_is_sent_first_and_not_held(world: World) -> None:
    w = world
    await community(w, (AMINA, "Amina"))
    await w.advance(days=2)  # Amina's window is closed now
    # What the timetable wrote first and the re-opener it needs, claimed in one batch.
    await put(w, AMINA, "question-first", "A question")
    reopener = f"reopener:whatsapp:{AMINA}:{w.h.clock.now().date().isoformat()}"
    await put(w, AMINA, reopener, "re-open", reopener=True)
    sent = await w.settle()
    assert [c.type for c in to(sent, AMINA)] == ["template"]
    assert w.fake.errors == {}
    statuses = {r.idempotency_key: r.status for r in await rows(w, AMINA)}
    assert statuses["question-first"] == OutboxStatus.HELD
    assert statuses[reopener] == OutboxStatus.SENT
    # One template a day: holding more that day sends no second one.
    await put(w, AMINA, "another", "Another")
    assert to(await w.settle(), AMINA) == []
    # She replies to the template: what waited follows, in order, as one message (plain
    # texts released together), and no template again.
    sent = to(await w.say(AMINA, "Hi, what is this about?"), AMINA)
    assert [c.text for c in sent] == ["A question\n\nAnother"]


async def test_questions_day_with_every_member_outside_the_window(world: World) -> None:
    """More members than one delivery batch: each gets exactly one template that day."""
    w = world
    members = [(f"2771000{i:04d}", f"Member {i}") for i in range(40)]
    await community(w, *members)
    await w.advance(days=4, hours=3)  # proposals open: a template each
    await w.advance(days=7)  # questions day (and the ballot, with nothing proposed)
    sent = await w.advance(hours=1)
    assert w.fake.errors == {}
    for wa_id, _ in members:
        templates = [c for c in w.fake.sent(wa_id) if c.type == "template"]
        assert len(templates) == 2, wa_id  # proposals day and questions day
    assert {c.type for c in sent} <= {"template"}
    async with w.h.indaba.sessions() as session:
        held = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.status == OutboxStatus.HELD,
                    OutboxMessage.idempotency_key.like("reopener:%"),
                )
            )
        ).all()
    assert held == [], "no re-opener is ever held"
    # One member replies: the question follows within the pacing, not days later.
    wa_id = members[0][0]
    got = to(await w.say(wa_id, "ok"), wa_id)
    assert any("Question 1 of 3" in c.text for c in got)


async def test_stale_held_messages_expire_and_the_next_answer_counts(world: World) -> None:
    w = world
    await community(w, (AMINA, "Amina"), (KWAME, "Kwame"))
    await w.advance(days=4, hours=3)
    await w.say(AMINA, "/agenda add Open data portals")
    # Questions day: Kwame is outside his window: one template, ballot and question held.
    sent = await w.advance(days=7)
    assert [c.type for c in to(sent, KWAME)] == ["template"]
    # The facilitator closes the vote; the meeting starts; Kwame only writes afterwards.
    await w.say(FATIMA, "hello")
    await w.say(FATIMA, "/agenda close")
    await w.advance(days=7, hours=6)  # past the meeting's start
    sent = to(await w.say(KWAME, "Sorry, I was away"), KWAME)
    texts = [c.text for c in sent]
    assert not any("Vote on the agenda" in t or "open for proposals" in t for t in texts), texts
    assert not any("Question 1 of 3" in t for t in texts), texts
    expired = {
        r.idempotency_key: r.last_error
        for r in await rows(w, KWAME)
        if r.status == OutboxStatus.EXPIRED
    }
    assert any(k.startswith("agenda-ballot:") for k in expired), expired
    assert "voting has closed" in expired.values()
    assert "the meeting has started" in expired.values()
    assert "proposals have closed" in expired.values()
    async with w.h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply.text))).all() == []


async def restart(w: World, database_url: str, tmp_path: Path) -> World:
    """Stop Indaba and start a new one on the same database (and the same fake)."""
    await w.h.aclose()
    adapter = WhatsAppAdapter(adapter_settings(w.fake))
    h = await Harness.create(
        database_url, tmp_path, adapters=[adapter], http_port=0, start=w.h.clock.now()
    )
    w.fake.clock = h.clock.now
    w.fake.webhook_url = f"{await start_indaba_http(h)}/whatsapp/webhook"
    return World(h, w.fake, adapter)


async def test_the_first_reply_after_a_template_is_no_answer_across_a_restart(
    database_url: str, tmp_path: Path, fake: FakeWhatsApp
) -> None:
    adapter = WhatsAppAdapter(adapter_settings(fake))
    h = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=0)
    fake.clock = h.clock.now
    fake.webhook_url = f"{await start_indaba_http(h)}/whatsapp/webhook"
    w = World(h, fake, adapter)
    await community(w, (KWAME, "Kwame"))
    await w.advance(days=4, hours=3)
    await w.say(KWAME, "/agenda add Procurement monitoring")
    sent = await w.advance(days=7, hours=1)
    assert [c.type for c in to(sent, KWAME)] == ["template"]

    w = await restart(w, database_url, tmp_path)
    try:
        got = to(await w.say(KWAME, "Hi, what is this about?"), KWAME)
        assert any("Question 1 of 3" in c.text for c in got)
        async with w.h.indaba.sessions() as session:
            assert (await session.scalars(select(Reply.text))).all() == []
        w = await restart(w, database_url, tmp_path)
        got = to(await w.say(KWAME, "We trained 40 clerks"), KWAME)
        assert any("Question 2 of 3" in c.text for c in got)
        async with w.h.indaba.sessions() as session:
            assert (await session.scalars(select(Reply.text))).all() == ["We trained 40 clerks"]
    finally:
        await w.h.aclose()


async def test_a_tap_on_the_templates_button_answers_the_template(world: World) -> None:
    w = world
    await community(w, (AMINA, "Amina"))
    sent = await w.advance(days=11, hours=3)
    [template] = [c for c in to(sent, AMINA) if c.type == "template"]
    await w.fake.member_taps_template(AMINA, template.wamid or "")
    got = to(await w.settle(), AMINA)
    assert any("Question 1 of 3" in c.text for c in got)
    # Her next words answer the question she now has.
    await w.say(AMINA, "Our budget portal went live")
    async with w.h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply.text))).all() == ["Our budget portal went live"]


async def test_a_failed_131047_status_holds_sends_one_template_and_resends(
    world: World,
) -> None:
    w = world
    await community(w, (AMINA, "Amina"))
    await w.advance(days=4, hours=3)  # proposals open: that day's template
    await w.advance(days=6, hours=21)
    await w.say(AMINA, "hello")
    # The Cloud API accepts the question, then reports it failed: the window had closed.
    w.fake.fail_later[AMINA] = 131047
    sent = await w.advance(hours=3)
    [question] = [c for c in to(sent, AMINA) if "Question 1 of 3" in c.text]
    del w.fake.fail_later[AMINA]
    w.fake._failures = [f for f in w.fake._failures if f[0] == question.wamid]
    await w.fake.report_failures()
    sent = to(await w.settle(), AMINA)
    assert [c.type for c in sent] == ["template"]
    [row] = [r for r in await rows(w, AMINA) if r.platform_message_id == question.wamid]
    assert row.status == OutboxStatus.HELD
    # She replies: the question goes out again, once.
    again = to(await w.say(AMINA, "yes?"), AMINA)
    assert [c.text for c in again if "Question 1 of 3" in c.text] == [question.text]
    assert to(await w.settle(), AMINA) == []


async def test_a_failed_131026_status_marks_the_member_unreachable(world: World) -> None:
    w = world
    await community(w, (AMINA, "Amina"))
    w.fake.fail_later[AMINA] = 131026
    await w.say(AMINA, "/help")
    await w.fake.report_failures()
    await w.settle()
    async with w.h.indaba.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == AMINA))
        assert identity is not None and identity.unreachable_at is not None
    statuses = {r.status for r in await rows(w, AMINA)}
    assert OutboxStatus.UNREACHABLE in statuses


async def test_held_messages_wait_no_longer_than_their_day(world: World) -> None:
    """A re-opener written on an earlier day is no reason to hold a newer one back."""
    w = world
    await community(w, (AMINA, "Amina"))
    await w.advance(days=2)
    await put(w, AMINA, "one", "One")
    assert [c.type for c in to(await w.settle(), AMINA)] == ["template"]
    await w.h.advance(days=1, hours=1)
    await put(w, AMINA, "two", "Two")
    # A new day, still outside the window, and something new waits: a new template.
    assert [c.type for c in to(await w.settle(), AMINA)] == ["template"]
    assert len([c for c in w.fake.sent(AMINA) if c.type == "template"]) == 2


async def test_a_failed_status_is_acted_on_in_the_transaction_that_stores_it(
    world: World,
) -> None:
    """The engine hands the row to the delivery policy at once: no later scan needed."""
    w = world
    await community(w, (AMINA, "Amina"))
    w.fake.fail_later[AMINA] = 131047
    [reply] = to(await w.say(AMINA, "/help"), AMINA)
    del w.fake.fail_later[AMINA]
    await w.fake.report_failures()
    await w.adapter.idle()
    await w.h.indaba.inbox.drain()  # the status is handled; delivery has not run since
    statuses = {r.platform_message_id: r.status for r in await rows(w, AMINA)}
    assert statuses[reply.wamid] == OutboxStatus.HELD
    reopeners = [r for r in await rows(w, AMINA) if r.idempotency_key.startswith("reopener:")]
    assert [r.status for r in reopeners] == [OutboxStatus.PENDING]
    # Delivery then sends the template, and the help again once she writes.
    assert [c.type for c in to(await w.settle(), AMINA)] == ["template"]
    again = to(await w.say(AMINA, "ok"), AMINA)
    assert reply.text in [c.text for c in again]


async def test_plain_texts_released_together_go_as_one_message_in_order(world: World) -> None:
    w = world
    await community(w, (AMINA, "Amina"))
    await w.advance(days=2)
    first, second = "A" * 3000, "B" * 3000
    await put(w, AMINA, "m1", "One")
    await put(w, AMINA, "m2", "Two")
    async with w.h.indaba.sessions() as session, session.begin():
        await w.h.indaba.outbox.put_one(
            session,
            Envelope(
                "m3",
                OutgoingMessage(
                    Address("whatsapp", ConversationKind.DM, AMINA),
                    "Come?",
                    choices=(Choice("yes", "Yes"), Choice("no", "No")),
                ),
            ),
        )
    await put(w, AMINA, "m4", "Three")
    await put(w, AMINA, "m5", first)
    await put(w, AMINA, "m6", second)
    assert [c.type for c in to(await w.settle(), AMINA)] == ["template"]
    sent = to(await w.say(AMINA, "Hi"), AMINA)
    # In order; the choices go alone; no message passes 4,096 characters.
    assert [c.text for c in sent] == [
        "One\n\nTwo",
        "Come?\n\n1. Yes\n2. No",
        f"Three\n\n{first}",
        second,
    ]
    assert all(len(c.text) <= 4096 for c in sent)
    assert w.fake.errors == {}
    by_key = {r.idempotency_key: r for r in await rows(w, AMINA)}
    assert all(by_key[k].status == OutboxStatus.SENT for k in ("m1", "m2", "m3", "m4", "m5", "m6"))
    assert by_key["m1"].platform_message_id == by_key["m2"].platform_message_id == sent[0].wamid
    # A status for the one message is each text's.
    assert sent[0].wamid is not None
    await w.fake.report_status(sent[0].wamid, AMINA, "read")
    await w.settle()
    by_key = {r.idempotency_key: r for r in await rows(w, AMINA)}
    assert by_key["m1"].read_at is not None and by_key["m2"].read_at is not None
    assert by_key["m4"].read_at is None
