"""Typed numbers on WhatsApp: a ballot part shows its items' own numbers once, and a
number that could answer the open question or vote on the ballot is asked back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.whatsapp import WhatsAppAdapter
from storage.models import AgendaItem, AgendaVote, OutboxMessage, Reply
from storage.statuses import ContextKind
from tests.fakes.whatsapp_api import FakeWhatsApp, WhatsAppCall
from tests.harness import Harness
from tests.whatsapp.conftest import World, adapter_settings, start_indaba_http
from tests.whatsapp.test_window import restart

FATIMA, AMINA, KWAME = "2348030000009", "2348030000001", "2348030000002"
TITLES = [f"Topic {n:02d}" for n in range(1, 13)]


def to(calls: list[WhatsAppCall], wa_id: str) -> list[WhatsAppCall]:
    return [c for c in calls if c.to == wa_id]


async def votes(w: World) -> list[str]:
    async with w.h.indaba.sessions() as session:
        found = await session.scalars(
            select(AgendaItem.title)
            .join(AgendaVote, AgendaVote.item_id == AgendaItem.id)
            .order_by(AgendaItem.title)
        )
        return list(found.all())


async def replies(w: World) -> list[str]:
    async with w.h.indaba.sessions() as session:
        return list((await session.scalars(select(Reply.text).order_by(Reply.id))).all())


async def questions_day_with_twelve_items(w: World) -> list[WhatsAppCall]:
    """Twelve items (two ballot parts on WhatsApp); Amina's window open on questions day."""
    setup, join = await w.h.create_community()
    await w.say(FATIMA, f"/setup {setup}", name="Fatima")
    for wa_id, name in ((AMINA, "Amina"), (KWAME, "Kwame")):
        await w.say(wa_id, f"/join {join}", name=name)
    await w.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    await w.advance(days=4, hours=3)
    for n, title in enumerate(TITLES):
        await w.say(AMINA if n % 2 else KWAME, f"/agenda add {title}")
    await w.advance(days=6, hours=9)
    await w.say(AMINA, "Looking forward to the meeting")
    return to(await w.advance(hours=15), AMINA)


async def test_a_ballots_second_part_numbers_its_items_once(world: World) -> None:
    w = world
    sent = await questions_day_with_twelve_items(w)
    ballots = [c for c in sent if c.type == "interactive" and "Vote on the agenda" in c.text]
    assert len(ballots) == 2
    second = ballots[1].text
    assert "(part 2 of 2)" in second
    assert "11. Topic 11" in second and "12. Topic 12" in second
    assert "1. Topic 11" not in second.replace("11. Topic 11", "")
    assert second.count("Topic 12") == 1
    first = ballots[0].text
    assert first.count("Topic 01") == 1


async def test_a_number_that_could_be_an_answer_or_a_vote_is_asked_back(world: World) -> None:
    w = world
    sent = await questions_day_with_twelve_items(w)
    assert any("Question 1 of 3" in c.text for c in sent)
    got = to(await w.say(AMINA, "We opened the budget data"), AMINA)
    assert any("Question 2 of 3" in c.text for c in got)
    # She looks at the agenda: in her chat it doubles as the ballot, numbers 1 to 12.
    listing = to(await w.say(AMINA, "/agenda"), AMINA)
    assert "12. Topic 12" in listing[0].text

    # "2" while question 2 is open: neither a vote nor an answer yet, a question back.
    [asked] = to(await w.say(AMINA, "2"), AMINA)
    assert await votes(w) == []
    assert await replies(w) == ["We opened the budget data"]
    assert asked.text.startswith("Is 2 your answer to question 2, or a vote for item 2?")
    assert [b["reply"]["title"] for b in asked.payload["interactive"]["action"]["buttons"]] == [
        "My answer",
        "My vote",
    ]
    # She taps "My answer": it is filed as her answer to question 2, and question 3 follows.
    assert asked.wamid is not None
    got = to(await w.tap(AMINA, asked.wamid, "answer"), AMINA)
    assert await replies(w) == ["We opened the budget data", "2"]
    assert any("Question 3 of 3" in c.text for c in got)
    assert await votes(w) == []

    # "12" while question 3 is open: asked back again; she types 2 for "My vote".
    [asked] = to(await w.say(AMINA, "12"), AMINA)
    assert asked.text.startswith("Is 12 your answer to question 3, or a vote for item 12?")
    [confirmation] = to(await w.say(AMINA, "2"), AMINA)
    assert confirmation.text.startswith("Your votes: 12.")
    assert await votes(w) == ["Topic 12"]
    assert len(await replies(w)) == 2
    # A second tap on the question back changes nothing.
    assert asked.wamid is not None
    [note] = to(await w.tap(AMINA, asked.wamid, "answer"), AMINA)
    assert "noted already" in note.text
    assert len(await replies(w)) == 2

    # With no question open, a number can only be a vote: taken at once.
    await w.say(AMINA, "Fewer meetings, more follow-up")
    assert len(await replies(w)) == 3
    [confirmation] = to(await w.say(AMINA, "11 12"), AMINA)
    assert confirmation.text.startswith("Your votes: 11, 12.")
    assert await votes(w) == ["Topic 11", "Topic 12"]
    async with w.h.indaba.sessions() as session:
        kinds = (await session.scalars(select(OutboxMessage.context))).all()
    assert sum(1 for c in kinds if c.get("kind") == ContextKind.NUMBER_MEANING) == 2


async def test_a_number_outside_the_ballot_is_an_answer_at_once(world: World) -> None:
    w = world
    await questions_day_with_twelve_items(w)
    # Question 1 is open and the last ballot part shows 11 and 12: 40 can only be an answer.
    got = to(await w.say(AMINA, "40"), AMINA)
    assert await replies(w) == ["40"]
    assert any("Question 2 of 3" in c.text for c in got)
    assert await votes(w) == []


async def test_the_question_back_is_answered_after_a_restart(
    database_url: str, tmp_path: Path, fake: FakeWhatsApp
) -> None:
    adapter = WhatsAppAdapter(adapter_settings(fake))
    h = await Harness.create(database_url, tmp_path, adapters=[adapter], http_port=0)
    fake.clock = h.clock.now
    fake.webhook_url = f"{await start_indaba_http(h)}/whatsapp/webhook"
    w = World(h, fake, adapter)
    try:
        await questions_day_with_twelve_items(w)
        await w.say(AMINA, "/agenda")
        [asked] = to(await w.say(AMINA, "12"), AMINA)
        assert asked.text.startswith("Is 12 your answer to question 1, or a vote for item 12?")
        w = await restart(w, database_url, tmp_path)
        assert asked.wamid is not None
        [confirmation] = to(await w.tap(AMINA, asked.wamid, "choice"), AMINA)
        assert confirmation.text.startswith("Your votes: 12.")
        assert await votes(w) == ["Topic 12"] and await replies(w) == []
    finally:
        await w.h.aclose()
