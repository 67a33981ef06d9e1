"""A CoP's month on Telegram, told through the fake Bot API, in polling and webhook mode."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Identity, Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.telegram.conftest import TelegramStory

GROUP = -1001234
FATIMA, AMINA, KWAME, THANDI = 100, 101, 102, 103


async def test_a_month_on_telegram(story: TelegramStory) -> None:
    fake = story.fake
    setup, join = await story.h.create_community()
    fake.group(GROUP, "Lagos Civic Tech")
    for user_id, name in (
        (FATIMA, "Fatima"),
        (AMINA, "Amina"),
        (KWAME, "Kwame"),
        (THANDI, "Thandi"),
    ):
        fake.user(user_id, name)

    # "/" shows the commands, in groups and in private chats.
    private = {c["command"] for c in fake.commands["all_private_chats"]}
    assert {"help", "join", "setup", "meeting"} <= private
    assert "join" not in {c["command"] for c in fake.commands["all_group_chats"]}

    # The facilitator links the group; she never started the bot, so the bot names her
    # in the group with a link to a private chat instead of writing to her.
    await story.say(FATIMA, f"/setup@{BOT_USERNAME} {setup}", GROUP)
    to_group = fake.texts_to(GROUP)
    assert "Lagos Civic Tech" in to_group[0]
    nudge = to_group[-1]
    assert f'<a href="tg://user?id={FATIMA}">Fatima</a>' in nudge
    assert f"https://t.me/{BOT_USERNAME}" in nudge
    assert fake.forbidden >= 1

    # Members open the deep link t.me/<bot>?start=<code>: Telegram sends "/start CODE".
    code = join.replace("-", "")
    for member in (AMINA, KWAME):
        await story.say(member, f"/start {code}")
        assert fake.sent_to(member), "the welcome reaches a member who started the bot"
    await story.say(FATIMA, "/start")

    # Thandi joins the group but never starts the bot: she is named in the group.
    await story.processed(await fake.joins(GROUP, THANDI))
    assert f"tg://user?id={THANDI}" in fake.texts_to(GROUP)[-1]
    async with story.h.indaba.sessions() as session:
        unreachable = (
            await session.scalars(
                select(Identity.user_id).where(Identity.unreachable_at.is_not(None))
            )
        ).all()
    assert unreachable == [str(THANDI)]

    # A meeting; a week before it the questions arrive as private messages.
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
    assert "Planned" in fake.texts_to(GROUP)[-1]
    before = {m: len(fake.sent_to(m)) for m in (AMINA, KWAME)}
    await story.advance(days=11, hours=3)
    questions = {
        m: next(q for q in fake.sent_to(m)[before[m] :] if "Question 1 of 3" in q["text"])
        for m in (AMINA, KWAME)
    }

    # Amina answers by replying to the question, then corrects herself by editing.
    answer = await story.say(
        AMINA, "Budget portal is live", reply_to=questions[AMINA]["message_id"]
    )
    assert "Question 2 of 3" in fake.texts_to(AMINA)[-1]
    await story.processed(
        await fake.edit(AMINA, answer["message_id"], "Budget portal went live <3")
    )
    # Kwame just writes.
    await story.say(KWAME, "We trained 40 clerks & 3 judges")
    async with story.h.indaba.sessions() as session:
        answers = sorted((await session.scalars(select(Reply.text))).all())
    assert answers == ["Budget portal went live <3", "We trained 40 clerks & 3 judges"]

    # A day before the meeting the facilitator gets the brief in her private chat,
    # with member text escaped for Telegram's HTML.
    await story.advance(days=6)
    brief = fake.texts_to(FATIMA)[-1]
    assert "Budget portal went live &lt;3" in brief
    assert "40 clerks &amp; 3 judges" in brief
    assert not story.fake.webhook_failures
