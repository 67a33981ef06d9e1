"""Neutral markup → Telegram HTML (parse mode ``HTML``), split under Telegram's limits.

Telegram measures texts in UTF-16 code units (🌍 is two), so every length here is
:func:`utf16_len`. All text is escaped; only the tags Indaba writes itself reach
Telegram (``b``, ``blockquote``, ``a``). Each chunk of a split message is well-formed
HTML on its own, and :func:`halve` cuts a chunk Telegram still refused into two that are.
"""

from __future__ import annotations

import html
import re

from bot import markup
from bot.messages import Mention

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_POLL_QUESTION = 300
MAX_POLL_OPTION = 100
MAX_BUTTON_TEXT = 64
MAX_CALLBACK_DATA = 64  # bytes, not characters
MAX_TOAST = 200


def utf16_len(text: str) -> int:
    """Telegram's length of ``text``: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _fit(text: str, room: int, size: int = 0) -> int:
    """How many characters of ``text`` fit in ``room`` units once escaped (binary search)."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(_esc(text[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def _line_pieces(block: markup.Block, limit: int) -> list[str]:
    """The block's HTML, cut into pieces of at most ``limit`` units each."""
    bold_line = block.kind is markup.BlockKind.HEADING
    prefix = "• " if block.kind is markup.BlockKind.BULLET else ""
    pieces: list[str] = []
    current = prefix
    for span in block.spans:
        bold = span.bold or bold_line
        text = span.text
        while text:
            room = limit - utf16_len(current) - (7 if bold else 0)
            take = _fit(text, room) if room > 0 else 0
            if take == 0:
                pieces.append(current)
                current = ""
                continue
            chunk = _esc(text[:take])
            current += f"<b>{chunk}</b>" if bold else chunk
            text = text[take:]
    pieces.append(current)
    return pieces


def render_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Render neutral markup as Telegram HTML chunks of at most ``limit`` UTF-16 units."""
    quote_tags = len("<blockquote></blockquote>")
    units: list[tuple[bool, str]] = []  # (is a quote line, html)
    for block in markup.parse(text):
        is_quote = block.kind is markup.BlockKind.QUOTE
        for piece in _line_pieces(block, limit - (quote_tags if is_quote else 0)):
            units.append((is_quote, piece))
    chunks: list[str] = []
    lines: list[str] = []
    quote: list[str] = []
    size = 0

    def close_quote() -> None:
        nonlocal quote
        if quote:
            lines.append("<blockquote>" + "\n".join(quote) + "</blockquote>")
            quote = []

    def flush() -> None:
        nonlocal lines, size
        close_quote()
        body = "\n".join(lines).strip("\n")
        if body:
            chunks.append(body)
        lines, size = [], 0

    for is_quote, piece in units:
        extra = utf16_len(piece) + 1 + (quote_tags if is_quote and not quote else 0)
        if size + extra > limit:
            flush()
            extra = utf16_len(piece) + 1 + (quote_tags if is_quote else 0)
        if is_quote:
            quote.append(piece)
        else:
            close_quote()
            lines.append(piece)
        size += extra
    flush()
    return chunks or [""]


_TOKEN = re.compile(r"<(/?)([a-z-]+)[^>]*>|&[#a-zA-Z0-9]+;|.", re.DOTALL)


def halve(chunk: str) -> tuple[str, str]:
    """Cut well-formed Telegram HTML into two well-formed halves of about equal length,
    at the line break nearest the middle when there is one; tags open at the cut are
    closed in the first half and opened again in the second (never inside a link)."""
    tokens: list[str] = []
    stacks: list[tuple[str, ...]] = []  # the opening tags around each token
    stack: list[str] = []
    for match in _TOKEN.finditer(chunk):
        stacks.append(tuple(stack))
        tokens.append(match.group(0))
        if match.group(2):
            if match.group(1):
                if stack:
                    stack.pop()
            else:
                stack.append(match.group(0))
    middle = utf16_len(chunk) // 2
    size = 0
    cuts: list[tuple[bool, int, int]] = []  # (not a line break, distance, index)
    for index, token in enumerate(tokens):
        if index and not any(tag.startswith("<a") for tag in stacks[index]):
            cuts.append((token != "\n", abs(size - middle), index))
        size += utf16_len(token)
    if not cuts:
        raise ValueError("nothing to cut")
    _, _, index = min(cuts)
    opened = stacks[index]
    names = [re.match(r"<([a-z-]+)", tag).group(1) for tag in opened]  # type: ignore[union-attr]
    first = "".join(tokens[:index]) + "".join(f"</{name}>" for name in reversed(names))
    rest = tokens[index + 1 :] if tokens[index] == "\n" else tokens[index:]
    second = "".join(opened) + "".join(rest)
    return first, second


def mention_html(mention: Mention) -> str:
    return f'<a href="tg://user?id={_esc(mention.user_id)}">{_esc(mention.name)}</a>'


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units, with an ellipsis when it was longer."""
    if utf16_len(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(text[:middle]) <= limit - 1:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def plain(text: str, limit: int) -> str:
    """Plain text (poll questions and options, button labels), cut to ``limit`` units."""
    return cut(markup.to_plain(text).strip(), limit)


def callback_data(choice_id: str) -> str | None:
    """A choice id as button data: 1-64 bytes, or None when it cannot be one."""
    return choice_id if 1 <= len(choice_id.encode()) <= MAX_CALLBACK_DATA else None


def toast(label: str) -> str:
    """The note shown on a member's screen when they press a button and Indaba has not
    said what the press did: the button's label, ticked."""
    return cut(f"✓ {markup.to_plain(label).strip()}", MAX_TOAST)


def note(text: str) -> str:
    """Indaba's answer to a press (neutral markup) as a toast: plain, 200 units at most."""
    return plain(" ".join(text.split()), MAX_TOAST)


def deep_link(bot_username: str, payload: str = "") -> str:
    """``https://t.me/<bot>`` (with ``?start=<payload>`` when given)."""
    link = f"https://t.me/{bot_username}"
    return f"{link}?start={payload}" if payload else link
