"""On Telegram, "Is this your answer?" comes with two buttons; a tap keeps the text once."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Reply
from tests.telegram.conftest import TelegramStory
from tests.telegram.test_ballots import buttons

GROUP = -1003101
FATIMA, AMINA = 600, 601


async def test_a_greeting_is_confirmed_with_buttons(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(GROUP, "Lagos Civic Tech")
    setup, join = await story.h.create_community()
    fake.user(FATIMA, "Fatima")
    fake.user(AMINA, "Amina")
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", GROUP)
    await story.say(AMINA, f"/start {join.replace('-', '')}")
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
    await story.advance(days=11, hours=3)
    assert any("Question 1 of 3" in text for text in fake.texts_to(AMINA))
    await story.say(AMINA, "hello?")
    [asked] = [m for m in fake.sent_to(AMINA) if "Is this your answer" in str(m.get("text"))]
    assert [label for label, _ in buttons(asked)] == ["Yes, save it", "No"]
    [yes] = [data for label, data in buttons(asked) if label == "Yes, save it"]
    for _ in range(2):  # a second tap on the same button keeps nothing twice
        await story.processed(await fake.press(AMINA, AMINA, int(asked["message_id"]), yes))
    async with story.h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply.text))).all() == ["hello?"]
    said = fake.texts_to(AMINA)
    assert said.count("Saved as your answer to question 1 of 3 — /undo takes it back.") == 1
    assert "Question 2 of 3" in said[-1]
