"""Telegram counts UTF-16 code units (🌍 is two): emoji-heavy and mixed-script texts
split at the real limits, a "too long" refusal cut and sent on, a brief whole."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Bot

from adapters.telegram.client import TelegramClient
from adapters.telegram.render import MAX_TEXT, halve, render_html, utf16_len
from bot import markup
from bot.messages import Address, ConversationKind, OutgoingMessage
from storage.statuses import OutboxStatus
from tests.fakes.telegram_api import TOKEN, FakeTelegram, check_html
from tests.telegram.conftest import FAST, TelegramStory

GROUP = -1009
FATIMA, AMINA, KWAME = 300, 301, 302

# Mixed scripts: astral emoji (2 units), flags and families (several code points),
# CJK and Amharic (1 unit each), Arabic, accents.
SAMPLES = ["🌍", "👩🏽‍💻", "🇳🇬", "漢字", "ሰላም", "مرحبا", "é", "x", " ", "&", "<"]


def test_utf16_length_is_telegram_length() -> None:
    assert utf16_len("🌍") == 2
    assert utf16_len("🇳🇬") == 4
    assert utf16_len("ሰላም") == 3
    assert utf16_len("a" * 4096) == MAX_TEXT


@pytest.mark.parametrize("sample", ["🌍", "👩🏽‍💻 ሰላም 漢字 & <b>", "a🌍" * 3])
def test_emoji_heavy_text_splits_under_4096_units(sample: str) -> None:
    lines = [f"- **{i}** {sample * 40}" for i in range(150)]
    lines.append(markup.escape(sample * 3000))  # one line far longer than a message
    text = "\n".join(lines)
    chunks = render_html(text)
    assert len(chunks) > 2
    for chunk in chunks:
        assert utf16_len(chunk) <= MAX_TEXT
        check_html(chunk)
    visible = "".join(check_html(chunk) for chunk in chunks)
    assert visible.replace("\n", "") == markup.to_plain(text).replace("\n", "")


def test_at_the_limit_exactly() -> None:
    [fits] = render_html("🌍" * 2048)
    assert utf16_len(fits) == MAX_TEXT
    assert len(render_html("🌍" * 2049)) == 2


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*SAMPLES, "\n", "**", "- ", "> "]), max_size=3000))
def test_any_mix_renders_within_the_limit(parts: list[str]) -> None:
    text = "".join(parts)
    chunks = render_html(text, limit=500)
    for chunk in chunks:
        assert utf16_len(chunk) <= 500
        check_html(chunk)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*SAMPLES, "\n", "**", "> "]), min_size=2, max_size=800))
def test_halving_keeps_both_halves_well_formed(parts: list[str]) -> None:
    [chunk, *_] = render_html("".join(parts) + "🌍")
    if len(check_html(chunk)) < 2:
        return  # one character cannot be cut
    first, second = halve(chunk)
    check_html(first)
    check_html(second)
    assert first and second
    assert utf16_len(first) < utf16_len(chunk) + 40
    assert (check_html(first) + check_html(second)).replace("\n", "") == check_html(chunk).replace(
        "\n", ""
    )


async def test_a_too_long_refusal_is_cut_and_sent_on(fake: FakeTelegram) -> None:
    """Telegram refuses part 2 as too long: it is cut in two and sent, never given up."""
    fake.group(GROUP, "CoP")
    fake.text_limit = 2500  # stricter than our chunks, as a refusal we did not foresee
    text = "\n".join(f"- answer {i}: " + "🌍" * 60 for i in range(80))
    async with Bot(TOKEN, base_url=f"{fake.url}/bot") as bot:
        client = TelegramClient(bot, FAST)
        await client.send(
            OutgoingMessage(Address("telegram", ConversationKind.GROUP, str(GROUP)), text)
        )
    refused = fake.called("sendMessage", ok=False)
    assert refused and all(utf16_len(check_html(p["text"])) > 2500 for p in refused)
    visible = "\n".join(check_html(m["text"]) for m in fake.sent_to(GROUP))
    assert visible == markup.to_plain(text)


async def test_a_brief_with_long_emoji_answers_is_delivered_whole(story: TelegramStory) -> None:
    fake = story.fake
    setup, join = await story.h.create_community()
    fake.group(GROUP, "CoP")
    for user, name in ((FATIMA, "Fatima"), (AMINA, "Amina"), (KWAME, "Kwame")):
        fake.user(user, name)
        await story.say(user, "/start")
    await story.say(FATIMA, f"/setup {setup}", GROUP)
    code = join.replace("-", "")
    await story.say(AMINA, f"/start {code}")
    await story.say(KWAME, f"/start {code}")
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
    await story.advance(days=11, hours=3)  # the questions, 7 days before
    # Long answers, nearly all emoji: 3,900 characters, 7,000+ UTF-16 units each.
    answers = {}
    for user, emoji in ((AMINA, "🌍"), (KWAME, "👩🏽‍💻")):
        for question in range(3):
            text = f"Q{question} " + (emoji + " ") * (3890 // (len(emoji) + 1))
            answers[(user, question)] = text
            await story.say(user, text)
    await story.advance(days=6)  # the brief, 1 day before
    rows = [r for r in await story.outbox() if r.idempotency_key.startswith("brief:")]
    assert rows and all(r.status == OutboxStatus.SENT for r in rows)
    assert not [r for r in await story.outbox() if r.status == OutboxStatus.DEAD]
    # Parts split inside an answer break its line; every character arrives, in order.
    brief = "".join("".join(check_html(t).split()) for t in fake.texts_to(FATIMA))
    for text in answers.values():
        assert "".join(text.split()) in brief
    assert fake.called("sendMessage", ok=False) == []
