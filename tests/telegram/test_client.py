"""Sending through the real PTB Bot to the fake: polls, keyboards, edits, limits, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from adapters.telegram.client import Limits, TelegramClient
from bot.adapter import RetryAfter, Unreachable
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from tests.fakes.telegram_api import TOKEN, FakeLimits, FakeTelegram
from tests.telegram.conftest import FAST

GROUP = -1007


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{fake.url}/bot") as client:
        yield client


def to_group(text: str, **fields: object) -> OutgoingMessage:
    return OutgoingMessage(Address("telegram", ConversationKind.GROUP, str(GROUP)), text, **fields)  # type: ignore[arg-type]


async def test_a_ballot_is_a_native_poll_and_closes(fake: FakeTelegram, bot: Bot) -> None:
    fake.group(GROUP, "CoP")
    sender = TelegramClient(bot, FAST)
    choices = tuple(Choice(f"item-{i}", f"Item {i}") for i in range(5))
    ref = await sender.send(to_group("Vote **now**", choices=choices, poll=True, multi_select=True))
    [poll] = fake.called("sendPoll")
    assert poll["question"] == "Vote now"
    assert [o["text"] for o in poll["options"]] == [f"Item {i}" for i in range(5)]
    assert poll["is_anonymous"] in (False, "False", "false")
    assert ref.poll_id in fake.polls
    await sender.send(to_group("closed", edit_of=ref.message_id, close_poll=True))
    assert fake.messages[(GROUP, int(ref.message_id.split(":")[1]))]["poll"]["is_closed"]


async def test_too_many_options_become_buttons(fake: FakeTelegram, bot: Bot) -> None:
    fake.group(GROUP, "CoP")
    sender = TelegramClient(bot, FAST)
    choices = tuple(Choice(f"i{i}", f"Item {i}") for i in range(15))
    ref = await sender.send(to_group("Dot voting", choices=choices, poll=True))
    assert fake.called("sendPoll") == []
    [sent] = fake.called("sendMessage")
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == [f"i{i}" for i in range(15)]
    edited = await sender.send(to_group("Dot voting (closed)", edit_of=ref.message_id))
    assert edited.message_id == ref.message_id
    assert fake.called("editMessageText")[0]["text"] == "Dot voting (closed)"


async def test_long_text_is_split(fake: FakeTelegram, bot: Bot) -> None:
    fake.group(GROUP, "CoP")
    sender = TelegramClient(bot, FAST)
    await sender.send(to_group("\n".join(f"- line {i} " + "x" * 80 for i in range(120))))
    assert len(fake.called("sendMessage")) == 3


async def test_never_started_is_unreachable(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(9, "Nomsa")
    sender = TelegramClient(bot, FAST)
    dm = OutgoingMessage(Address("telegram", ConversationKind.DM, "9"), "hi")
    with pytest.raises(Unreachable, match="can't initiate"):
        await sender.send(dm)
    fake.started.add(9)
    fake.blocked.add(9)
    with pytest.raises(Unreachable, match="blocked"):
        await sender.send(dm)


async def test_flood_control_asks_to_wait(fake: FakeTelegram, bot: Bot) -> None:
    fake.limits = FakeLimits(per_second=30, per_chat_per_second=1, retry_after=3)
    fake.group(GROUP, "CoP")
    unpaced = TelegramClient(bot, FAST)
    await unpaced.send(to_group("one"))
    with pytest.raises(RetryAfter) as raised:
        await unpaced.send(to_group("two"))
    assert raised.value.seconds == 3
    assert fake.rate_limited == 1


async def test_pacing_keeps_under_the_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.limits = FakeLimits(per_second=10, per_chat_per_second=1)
    sender = TelegramClient(bot, Limits(per_second=10, per_chat_per_second=1))
    for user in range(1, 16):
        fake.user(user, f"M{user}")
        fake.started.add(user)
        await sender.send(OutgoingMessage(Address("telegram", ConversationKind.DM, str(user)), "q"))
    assert fake.rate_limited == 0
    assert len(fake.called("sendMessage")) == 15
