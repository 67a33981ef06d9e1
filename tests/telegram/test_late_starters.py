"""Members who can be written to only late: they joined in the group before starting the
bot, or blocked it for a while. Each gets what a new member gets that they never had,
once, and never a question after its meeting's brief."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Identity, Prompt, Reply, WallEntry
from storage.statuses import PromptStatus
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.conftest import TelegramStory

GROUP = -4101
FATIMA, AMINA, KWAME, THANDI = 500, 501, 502, 503
MEETING = "/meeting add 2026-11-20 14:00 November meeting"


async def community(story: TelegramStory) -> str:
    """Lagos Civic Tech in GROUP, set up by Fatima (who started the bot); its join code."""
    setup, join = await story.h.create_community()
    story.fake.group(GROUP, "Lagos Civic Tech")
    for user, name in ((FATIMA, "Fatima"), (AMINA, "Amina"), (KWAME, "Kwame"), (THANDI, "Thandi")):
        story.fake.user(user, name)
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", GROUP)
    return join.replace("-", "")


def count(fake: FakeTelegram, user: int, words: str) -> int:
    return sum(words in text for text in fake.texts_to(user))


async def prompts_of(story: TelegramStory, user: int) -> list[str]:
    async with story.h.indaba.sessions() as session:
        rows = await session.scalars(
            select(Prompt.status)
            .join(Identity, Identity.member_id == Prompt.member_id)
            .where(Identity.user_id == str(user))
            .order_by(Prompt.id)
        )
        return list(rows.all())


async def test_start_code_after_joining_in_the_group_gives_what_was_missed(
    story: TelegramStory,
) -> None:
    """Thandi joined in the group and opens the deep link two weeks later, when what
    could not reach her is too old to be sent again: she gets a welcome with the
    consent paragraph, the open question and the wall invitation, not "already a member"."""
    fake = story.fake
    code = await community(story)
    await story.processed(await fake.joins(GROUP, THANDI))
    await story.say(FATIMA, MEETING, GROUP)
    await story.advance(days=15)  # the questions went out on the 13th
    assert fake.sent_to(THANDI) == []
    await story.say(THANDI, f"/start {code}")
    texts = fake.texts_to(THANDI)
    assert not any("already a member" in t for t in texts)
    [welcome] = [t for t in texts if "Welcome to" in t]
    assert "/privacy" in welcome and "/mydata" in welcome
    assert count(fake, THANDI, "Question 1 of 3") == 1
    assert count(fake, THANDI, "What are you passionate about?") == 1
    assert texts.index(welcome) == 0  # the welcome comes first
    # Opening the link again sends nothing twice; she has it all now.
    await story.say(THANDI, f"/start {code}")
    assert fake.texts_to(THANDI)[len(texts) :] == ["You are already a member of Lagos Civic Tech."]


async def test_start_code_soon_after_gets_the_resent_welcome_only_once(
    story: TelegramStory,
) -> None:
    fake = story.fake
    code = await community(story)
    await story.processed(await fake.joins(GROUP, THANDI))
    await story.advance(days=1)
    await story.say(THANDI, f"/start {code}")
    texts = fake.texts_to(THANDI)
    assert count(fake, THANDI, "Welcome to") == 1
    assert count(fake, THANDI, "What are you passionate about?") == 1
    assert not any("already a member" in t for t in texts)


async def test_a_member_who_had_everything_is_told_so(story: TelegramStory) -> None:
    fake = story.fake
    code = await community(story)
    await story.say(AMINA, f"/start {code}")
    before = len(fake.texts_to(AMINA))
    await story.say(AMINA, f"/start {code}")
    assert fake.texts_to(AMINA)[before:] == ["You are already a member of Lagos Civic Tech."]


async def test_pressing_start_late_brings_the_questions_out_already(story: TelegramStory) -> None:
    fake = story.fake
    await community(story)
    await story.processed(await fake.joins(GROUP, THANDI))
    await story.say(FATIMA, MEETING, GROUP)
    await story.advance(days=11, hours=3)  # Friday 13th, the questions are out
    assert fake.sent_to(THANDI) == []
    await story.say(THANDI, "/start")
    texts = fake.texts_to(THANDI)
    assert count(fake, THANDI, "Question 1 of 3") == 1
    assert texts.index(next(t for t in texts if "Welcome to" in t)) == 0
    # Her next words answer the question, the message she saw last.
    await story.say(THANDI, "We mapped 40 water points")
    async with story.h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply.text))).all() == ["We mapped 40 water points"]
    assert "Question 2 of 3" in fake.texts_to(THANDI)[-1]


async def test_unblocking_catches_up_the_questions_once(story: TelegramStory) -> None:
    fake = story.fake
    code = await community(story)
    await story.say(AMINA, f"/start {code}")
    await story.say(FATIMA, MEETING, GROUP)
    await story.processed(await fake.block(AMINA))
    await story.advance(days=11, hours=3)  # the questions go out while she blocks the bot
    assert count(fake, AMINA, "Question 1 of 3") == 0
    assert await prompts_of(story, AMINA) == [PromptStatus.QUEUED] * 3
    await story.processed(await fake.unblock(AMINA))
    assert count(fake, AMINA, "Question 1 of 3") == 1
    # Blocked and unblocked again: nothing twice.
    await story.processed(await fake.block(AMINA))
    await story.processed(await fake.unblock(AMINA))
    await story.advance(hours=1)
    assert count(fake, AMINA, "Question 1 of 3") == 1
    assert (await prompts_of(story, AMINA))[0] == PromptStatus.ASKED


async def test_no_question_after_the_brief(story: TelegramStory) -> None:
    fake = story.fake
    code = await community(story)
    for user in (AMINA, KWAME):
        await story.say(user, f"/start {code}")
    await story.say(FATIMA, MEETING, GROUP)
    await story.processed(await fake.block(AMINA))
    # Kwame blocked the bot too, but the update never came: his question is refused.
    fake.blocked.add(KWAME)
    await story.advance(days=11, hours=3)
    assert count(fake, KWAME, "Question 1 of 3") == 0
    await story.advance(days=6)  # the brief went out on the 19th
    assert any("Brief" in t or "brief" in t for t in fake.texts_to(FATIMA))
    sent = {user: len(fake.sent_to(user)) for user in (AMINA, KWAME)}
    for user in (AMINA, KWAME):
        await story.processed(await fake.unblock(user))
        assert not any("Question" in t for t in fake.texts_to(user)[sent[user] :])


async def test_the_wall_question_waits_from_when_it_was_delivered(story: TelegramStory) -> None:
    """Eight days after she joined in the group, Thandi presses Start: the wall question
    reaches her now and her answer is taken, though the first attempt is older than
    the week a wall question waits."""
    fake = story.fake
    await community(story)
    await story.processed(await fake.joins(GROUP, THANDI))
    await story.advance(days=8)
    await story.say(THANDI, "/start")
    assert count(fake, THANDI, "What are you passionate about?") == 1
    await story.say(THANDI, "Open budgets")
    async with story.h.indaba.sessions() as session:
        entry = await session.scalar(select(WallEntry).where(WallEntry.passions.is_not(None)))
    assert entry is not None and entry.passions == "Open budgets"


async def test_a_change_to_the_conversation_is_not_the_member_writing(
    story: TelegramStory,
) -> None:
    """Blocking, unblocking, the bot removed and added back: recorded, nobody answered,
    and nobody counted as having written."""
    fake = story.fake
    code = await community(story)
    await story.say(AMINA, f"/start {code}")

    async def last_inbound() -> object:
        async with story.h.indaba.sessions() as session:
            return await session.scalar(
                select(Identity.last_inbound_at).where(Identity.user_id == str(AMINA))
            )

    seen = await last_inbound()
    calls = len(fake.called("sendMessage", ok=None))
    await story.advance(hours=5)
    await story.processed(await fake.block(AMINA))
    await story.processed(await fake.unblock(AMINA))
    await story.processed(await fake.remove_bot(GROUP, by=AMINA))
    await story.processed(await fake.add_bot(GROUP, by=AMINA))
    assert await last_inbound() == seen
    assert len(fake.called("sendMessage", ok=None)) == calls


async def test_voting_in_the_group_poll_does_not_start_the_bot(story: TelegramStory) -> None:
    """A poll answer names the voter's private chat (Telegram gives no chat with it), but
    voting in the group does not let the bot write to them: they stay unreachable, and
    no question is put to them in vain."""
    fake = story.fake
    await community(story)
    await story.processed(await fake.joins(GROUP, THANDI))
    await story.say(FATIMA, MEETING, GROUP)
    await story.advance(days=4, hours=3)
    await story.say(FATIMA, "/agenda add Open data portals", GROUP)
    await story.say(FATIMA, "/agenda add Budget literacy", GROUP)
    await story.advance(days=7)  # the ballot in the group, the questions in private
    [(poll_id, _)] = fake.polls.items()
    refused = fake.forbidden
    await story.processed(await fake.vote(THANDI, poll_id, [1]))
    async with story.h.indaba.sessions() as session:
        gone = await session.scalar(
            select(Identity.unreachable_at).where(Identity.user_id == str(THANDI))
        )
    assert gone is not None
    assert fake.forbidden == refused  # nothing was tried on her private chat
    assert await prompts_of(story, THANDI) == [PromptStatus.QUEUED] * 3


async def test_a_member_who_stopped_is_not_asked_by_the_link(story: TelegramStory) -> None:
    fake = story.fake
    code = await community(story)
    await story.say(AMINA, f"/start {code}")
    await story.say(AMINA, "/stop")
    await story.say(FATIMA, MEETING, GROUP)
    await story.advance(days=11, hours=3)
    await story.say(AMINA, f"/start {code}")
    assert count(fake, AMINA, "Question 1 of 3") == 0
    assert fake.texts_to(AMINA)[-1] == "You are already a member of Lagos Civic Tech."
