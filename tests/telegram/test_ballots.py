"""Ballot buttons on Telegram: each press answered with a toast naming what it did, the
group's ballot edited with the counts and how many voted (or only how many, while a
community hides results), a member's own ballot edited to show their selection."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from storage.models import Community
from tests.telegram.conftest import TelegramStory

GROUP = -1003001
FATIMA, AMINA, KWAME = 500, 501, 502
ITEMS = ("Open data portals", "Procurement monitoring", "Budget literacy")


async def voting(story: TelegramStory, **settings: Any) -> dict[str, Any]:
    """A linked community with three items up for a vote; the group's ballot message."""
    fake = story.fake
    fake.group(GROUP, "Lagos Civic Tech")
    setup, join = await story.h.create_community()
    for user, name in ((FATIMA, "Fatima"), (AMINA, "Amina"), (KWAME, "Kwame")):
        fake.user(user, name)
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", GROUP)
    for user in (AMINA, KWAME):
        await story.say(user, f"/start {join.replace('-', '')}")
    async with story.h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**(community.settings or {}), **settings}
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
    await story.say(FATIMA, "/agenda open", GROUP)
    for user, title in zip((AMINA, KWAME, FATIMA), ITEMS, strict=True):
        await story.say(user, f"/agenda add {title}", GROUP)
    await story.say(FATIMA, "/agenda open", GROUP)
    texts = zip(fake.sent_to(GROUP), fake.texts_to(GROUP), strict=True)
    # A poll's long ballot comes as its text, then the poll: the last is what is voted on.
    return [m for m, text in texts if "Vote on the agenda" in text][-1]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message["reply_markup"]["inline_keyboard"]
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def press(story: TelegramStory, user: int, message: dict[str, Any], label: str) -> str:
    """``user`` presses the button ``label`` ends with; the toast Telegram showed them."""
    chat = int(message["chat"]["id"])
    [data] = [d for text, d in buttons(message) if text.endswith(label)]
    answers = len(story.fake.callback_answers)
    await story.processed(await story.fake.press(user, chat, int(message["message_id"]), data))
    [answer] = story.fake.callback_answers[answers:]
    return str(answer.get("text", ""))


def current(story: TelegramStory, message: dict[str, Any]) -> dict[str, Any]:
    return story.fake.messages[(int(message["chat"]["id"]), int(message["message_id"]))]


async def test_dot_presses_are_toasted_and_the_group_ballot_counts_dots(
    story: TelegramStory,
) -> None:
    ballot = await voting(story, agenda_voting="dots", agenda_dots=3)
    assert "poll" not in ballot  # dot voting is buttons
    dms = len(story.fake.sent_to(AMINA))
    assert await press(story, AMINA, ballot, "Budget literacy") == "1 dot on 3 · 2 left"
    assert await press(story, AMINA, ballot, "Budget literacy") == "2 dots on 3 · 1 left"
    assert await press(story, KWAME, ballot, "Open data portals") == "1 dot on 1 · 2 left"
    # The toast is the answer: no private message per press.
    assert len(story.fake.sent_to(AMINA)) == dms
    shown = current(story, ballot)["text"]
    assert "3. Budget literacy · 2 dots" in shown
    assert "1. Open data portals · 1 dot" in shown
    assert "2 members have voted so far." in shown
    assert [label for label, _ in buttons(current(story, ballot))] == list(ITEMS)
    # Out of dots: the press takes them back, and says so.
    await press(story, AMINA, ballot, "Open data portals")
    assert await press(story, AMINA, ballot, "Open data portals") == (
        "Dots on 1 taken back · 1 left"
    )
    # The ranking counts dots, not votes.
    await story.say(FATIMA, "/agenda close", GROUP)
    ranking = story.fake.texts_to(GROUP)[-1]
    assert "1. Budget literacy · 2 dots" in ranking
    assert "2. Open data portals · 1 dot" in ranking
    assert "vote" not in ranking.split("Thank you")[0]


async def test_hidden_results_show_only_how_many_voted_until_the_close(
    story: TelegramStory,
) -> None:
    ballot = await voting(story, agenda_results_while_voting=False)
    # A native poll would show its counts to every voter: the ballot is buttons.
    assert story.fake.called("sendPoll") == []
    assert await press(story, AMINA, ballot, "Procurement monitoring") == "Voted for 2"
    assert await press(story, KWAME, ballot, "Procurement monitoring") == "Voted for 2"
    assert await press(story, KWAME, ballot, "Procurement monitoring") == ("Vote for 2 taken back")
    shown = current(story, ballot)["text"]
    assert "1 member has voted so far. The results are shown when voting closes." in shown
    assert "· 1 vote" not in shown and "· 2 votes" not in shown
    await story.say(AMINA, "/agenda", GROUP)
    listed = story.fake.texts_to(AMINA)[-1]
    assert "The results are shown when voting closes." in listed
    assert "vote" not in listed.split("\n", 1)[1].split("Your votes")[0]
    await story.say(FATIMA, "/agenda close", GROUP)
    assert "1. Procurement monitoring · 1 vote" in story.fake.texts_to(GROUP)[-1]


async def test_a_members_own_ballot_shows_their_selection(story: TelegramStory) -> None:
    await voting(story)
    await story.say(AMINA, "/agenda")
    [own] = [m for m in story.fake.sent_to(AMINA) if m.get("reply_markup")][-1:]
    assert await press(story, AMINA, own, "Budget literacy") == "Voted for 3"
    assert buttons(current(story, own))[2][0] == "✓ Budget literacy"
    assert await press(story, AMINA, own, "Open data portals") == "Voted for 1"
    assert [label for label, _ in buttons(current(story, own))] == [
        "✓ Open data portals",
        "Procurement monitoring",
        "✓ Budget literacy",
    ]
    assert await press(story, AMINA, own, "Budget literacy") == "Vote for 3 taken back"
    assert buttons(current(story, own))[2][0] == "Budget literacy"


async def test_a_press_indaba_does_not_answer_gets_its_label(story: TelegramStory) -> None:
    """A press on a message Indaba does not know: the spinner still stops, with the
    button's label, once Indaba has had its chance to answer."""
    fake = story.fake
    fake.user(AMINA, "Amina")
    await story.say(AMINA, "hello")
    chat, message_id = AMINA, max(m for c, m in fake.messages if c == AMINA)
    fake.messages[(chat, message_id)]["reply_markup"] = {
        "inline_keyboard": [[{"text": "3. Budget literacy", "callback_data": "item-3"}]]
    }
    await story.processed(await fake.press(AMINA, chat, message_id, "item-3"))
    for _ in range(100):
        if fake.callback_answers:
            break
        await asyncio.sleep(0.1)
    [answer] = fake.callback_answers
    assert answer["text"] == "✓ 3. Budget literacy"


async def test_an_item_proposed_while_voting_joins_the_groups_ballot_by_an_edit(
    story: TelegramStory,
) -> None:
    ballot = await voting(story, agenda_results_while_voting=False)
    sent = len(story.fake.sent_to(GROUP))
    await story.say(KWAME, "/agenda add Mapping water points", GROUP)
    # No new message in the group: the ballot itself now carries item 4, as a button.
    assert len(story.fake.sent_to(GROUP)) == sent
    shown = current(story, ballot)
    assert "4. Mapping water points" in shown["text"]
    assert [label for label, _ in buttons(shown)] == [*ITEMS, "Mapping water points"]
    assert await press(story, AMINA, shown, "Mapping water points") == "Voted for 4"
