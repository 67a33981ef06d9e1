"""Groups as they really are: a group upgraded to a supergroup, forum topics, the bot
removed or blocked, members who start the bot late, and button presses answered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.messages import Address, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import Identity, Space, WallEntry
from storage.statuses import OutboxStatus
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram
from tests.telegram.conftest import TelegramStory

BASIC, SUPER = -4001, -1004001
FORUM, AGENDA_TOPIC, CHAT_TOPIC = -1007001, 7, 9
FATIMA, AMINA, KWAME, THANDI, NIA = 400, 401, 402, 403, 404


async def linked(story: TelegramStory, group: int, *, thread: int | None = None) -> str:
    """A community linked to ``group`` by Fatima (who started the bot); its join code."""
    setup, join = await story.h.create_community()
    for user, name in ((FATIMA, "Fatima"), (AMINA, "Amina"), (KWAME, "Kwame"), (THANDI, "Thandi")):
        story.fake.user(user, name)
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", group, thread=thread)
    return join.replace("-", "")


async def spaces(story: TelegramStory) -> dict[str, Space]:
    async with story.h.indaba.sessions() as session:
        rows = (await session.scalars(select(Space))).all()
    return {row.conversation_id: row for row in rows}


async def unreachable(story: TelegramStory) -> list[str]:
    async with story.h.indaba.sessions() as session:
        rows = await session.scalars(
            select(Identity.user_id).where(Identity.unreachable_at.is_not(None))
        )
        return sorted(rows.all())


def to_groups(calls: list[dict[str, object]]) -> list[dict[str, object]]:
    return [c for c in calls if str(c["chat_id"]).startswith("-")]


# -- a group upgraded to a supergroup -------------------------------------------------------


async def test_the_migration_service_message_moves_the_space(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    await linked(story, BASIC)
    await story.processed(await fake.migrate(BASIC, SUPER, by=FATIMA))
    found = await spaces(story)
    assert str(BASIC) not in found
    assert found[str(SUPER)].community_id is not None
    # The community keeps working in the supergroup: members are registered there and
    # what the community posts goes there.
    await story.say(AMINA, "hello all", SUPER)
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", SUPER)
    assert "Planned" in fake.texts_to(SUPER)[-1]
    await story.advance(days=4, hours=3)
    assert any("open for proposals" in t for t in fake.texts_to(SUPER))
    assert to_groups(fake.called("sendMessage", ok=False)) == []


async def test_a_chat_migrated_error_moves_the_space_and_its_queue(story: TelegramStory) -> None:
    """The bot missed the service messages: the first send to the old id is refused with
    ``migrate_to_chat_id``; it and everything queued after it reach the supergroup."""
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    await linked(story, BASIC)
    await fake.migrate(BASIC, SUPER, by=FATIMA, announce=False)
    async with story.h.indaba.sessions() as session, session.begin():
        await story.h.indaba.outbox.put(
            session,
            [
                Envelope(
                    f"post:{i}",
                    OutgoingMessage(
                        Address("telegram", ConversationKind.GROUP, str(BASIC)), f"Post {i}"
                    ),
                )
                for i in range(3)
            ],
        )
    await story.settle()
    await story.settle()
    assert [t for t in fake.texts_to(SUPER) if t.startswith("Post")] == [
        "Post 0",
        "Post 1",
        "Post 2",
    ]
    rows = [r for r in await story.outbox() if r.idempotency_key.startswith("post:")]
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert (await spaces(story))[str(SUPER)].community_id is not None
    # Once moved, nothing more goes to the old id.
    refused = len(to_groups(fake.called("sendMessage", ok=False)))
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", SUPER)
    await story.advance(days=4, hours=3)
    assert any("open for proposals" in t for t in fake.texts_to(SUPER))
    assert len(to_groups(fake.called("sendMessage", ok=False))) == refused


# -- forum topics -----------------------------------------------------------------------------


async def test_answers_go_to_the_topic_and_posts_to_the_linked_one(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(FORUM, "Lagos Civic Tech")
    fake.topic(FORUM, AGENDA_TOPIC, "Agenda")
    fake.topic(FORUM, CHAT_TOPIC, "Chat")
    await linked(story, FORUM, thread=AGENDA_TOPIC)
    assert "now linked" in fake.texts_to(FORUM, AGENDA_TOPIC)[-1]
    # A member writing in another topic is the community's; a command there is answered there.
    await story.say(AMINA, "/start")
    await story.say(AMINA, "hi from the chat topic", FORUM, thread=CHAT_TOPIC)
    assert any("Welcome to" in t for t in fake.texts_to(AMINA))
    await story.say(
        FATIMA, "/meeting add 2026-11-20 14:00 November meeting", FORUM, thread=CHAT_TOPIC
    )
    assert "Planned" in fake.texts_to(FORUM, CHAT_TOPIC)[-1]
    # What the community posts (here the agenda opening) goes to the linked topic.
    await story.advance(days=4, hours=3)
    [opening] = [t for t in fake.texts_to(FORUM) if "open for proposals" in t]
    assert opening in fake.texts_to(FORUM, AGENDA_TOPIC)
    # A topic deleted meanwhile: the post goes to General instead of failing.
    del fake.topics[FORUM][AGENDA_TOPIC]
    await story.say(
        FATIMA, "/meeting add 2026-12-20 14:00 December meeting", FORUM, thread=CHAT_TOPIC
    )
    assert all(m.get("message_thread_id") != AGENDA_TOPIC for m in fake.sent_to(FORUM)[-1:])


async def test_a_closed_topic_sends_posts_to_general(story: TelegramStory) -> None:
    """An admin closes the linked topic: a bot that is not an admin gets TOPIC_CLOSED
    there, so the community's posts go to General instead of dying."""
    fake = story.fake
    fake.group(FORUM, "Lagos Civic Tech")
    fake.topic(FORUM, AGENDA_TOPIC, "Agenda")
    await linked(story, FORUM, thread=AGENDA_TOPIC)
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", FORUM)
    fake.closed_topics.add((FORUM, AGENDA_TOPIC))
    await story.advance(days=4, hours=3)
    [opening] = [m for m in fake.sent_to(FORUM) if "open for proposals" in m.get("text", "")]
    assert "message_thread_id" not in opening
    refused = fake.calls("sendMessage", ok=False)
    assert [c.error for c in refused if c.to == str(FORUM)] == ["Bad Request: TOPIC_CLOSED"]


# -- the bot removed, blocked, added back ---------------------------------------------------


async def test_removal_and_block_mark_unreachable_at_once(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    code = await linked(story, BASIC)
    await story.say(AMINA, f"/start {code}")
    await story.processed(await fake.remove_bot(BASIC, by=FATIMA))
    assert (await spaces(story))[str(BASIC)].unreachable_at is not None
    sent = len(fake.called("sendMessage", ok=None))
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    await story.advance(days=4, hours=3)  # the agenda opening: no group to post it to
    assert not any("open for proposals" in t for t in fake.texts_to(BASIC))
    assert all(int(c["chat_id"]) != BASIC for c in fake.called("sendMessage", ok=None)[sent:])
    await story.processed(await fake.add_bot(BASIC, by=FATIMA))
    assert (await spaces(story))[str(BASIC)].unreachable_at is None

    await story.processed(await fake.block(AMINA))
    assert await unreachable(story) == [str(AMINA)]
    await story.processed(await fake.unblock(AMINA))
    assert await unreachable(story) == []


# -- members who start the bot late ---------------------------------------------------------


async def test_a_member_who_starts_late_gets_what_they_missed(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    await linked(story, BASIC)
    # Thandi joins the group but has never started the bot: nothing reaches her.
    await story.processed(await fake.joins(BASIC, THANDI))
    await story.say(THANDI, "hello everyone", BASIC)  # writing in the group starts nothing
    await story.advance(days=2)
    assert fake.sent_to(THANDI) == []
    assert str(THANDI) in await unreachable(story)
    # She opens the deep link: the welcome and the wall invitation she missed.
    await story.say(THANDI, "/start")
    texts = fake.texts_to(THANDI)
    assert any("Welcome to" in t for t in texts)
    assert any("What are you passionate about?" in t for t in texts)
    assert "Welcome back" in texts[-1]  # after what she missed, not instead of it
    assert str(THANDI) not in await unreachable(story)
    # What she writes now answers the wall question she has seen.
    await story.say(THANDI, "Open budgets")
    async with story.h.indaba.sessions() as session:
        walls = (await session.scalars(select(WallEntry.passions))).all()
    assert "Open budgets" in walls


def nudges_in(fake: FakeTelegram, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent_to(chat) if "cannot write to you directly" in m.get("text", "")]


async def test_group_nudges_are_one_a_day_listing_everyone_still_to_start(
    story: TelegramStory,
) -> None:
    """Three members join before starting the bot: the group gets one post a day, not
    one per member; the next day's names everyone who still has to start the bot."""
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    await linked(story, BASIC)
    fake.user(NIA, "Nia")
    for user in (THANDI, KWAME, AMINA):
        await story.processed(await fake.joins(BASIC, user))
    [first] = nudges_in(fake, BASIC)
    assert f"tg://user?id={THANDI}" in first["text"]  # the first is mentioned at once
    # Nia blocked the bot before she joined: she chose not to hear from it.
    await story.processed(await fake.block(NIA))
    await story.processed(await fake.joins(BASIC, NIA))
    await story.advance(hours=23)
    assert len(nudges_in(fake, BASIC)) == 1
    await story.advance(hours=2)
    [_, second] = nudges_in(fake, BASIC)
    assert second["text"].startswith("Thandi, Kwame, Amina: I have something for each of you")
    assert "Nia" not in second["text"]
    [[button]] = second["reply_markup"]["inline_keyboard"]
    assert button["url"] == f"https://t.me/{BOT_USERNAME}"
    # Nothing more that day, whatever else fails to reach them.
    async with story.h.indaba.sessions() as session, session.begin():
        await story.h.indaba.outbox.put(
            session,
            [
                Envelope(
                    f"note:{user}",
                    OutgoingMessage(Address("telegram", ConversationKind.DM, str(user)), "A note"),
                )
                for user in (THANDI, KWAME)
            ],
        )
    await story.settle()
    assert len(nudges_in(fake, BASIC)) == 2


async def test_group_nudge_carries_the_deep_link_button(story: TelegramStory) -> None:
    fake = story.fake
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    await linked(story, BASIC)
    await story.processed(await fake.joins(BASIC, THANDI))
    nudge = fake.sent_to(BASIC)[-1]
    assert f"tg://user?id={THANDI}" in nudge["text"]
    [[button]] = nudge["reply_markup"]["inline_keyboard"]
    assert button["url"] == f"https://t.me/{BOT_USERNAME}"
