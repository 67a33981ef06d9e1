"""Neutral markup → Telegram HTML: escaped, well-formed, split under 4096."""

from __future__ import annotations

from adapters.telegram.render import mention_html, render_html
from bot import markup
from bot.messages import Mention
from tests.fakes.telegram_api import check_html


def test_markup_becomes_telegram_html() -> None:
    text = "# Agenda\nToday **three** items:\n- budgets\n> a quote\n> more"
    [html] = render_html(text)
    assert html == (
        "<b>Agenda</b>\nToday <b>three</b> items:\n• budgets\n"
        "<blockquote>a quote\nmore</blockquote>"
    )


def test_member_text_is_escaped() -> None:
    member = markup.escape("<script> & **not bold** #not heading")
    [html] = render_html(f"Amina: {member}")
    assert html == "Amina: &lt;script&gt; &amp; **not bold** #not heading"
    check_html(html)


def test_mention_links_to_the_user() -> None:
    assert mention_html(Mention("42", "A <b>")) == '<a href="tg://user?id=42">A &lt;b&gt;</a>'


def test_long_text_splits_into_well_formed_chunks() -> None:
    lines = [f"- **item {i}** <{'x' * 50}>" for i in range(300)]
    lines += ["> " + "quoted & " * 100] * 20
    lines.append("**" + "y" * 9000 + "**")
    chunks = render_html("\n".join(lines))
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk) <= 4096
        check_html(chunk)
    visible = "".join(check_html(c) for c in chunks)
    assert visible.count("item ") == 300
    assert visible.count("y") == 9000
