"""Neutral markup → Telegram HTML (parse mode ``HTML``), split under 4096 characters.

All text is escaped; only the tags Indaba writes itself reach Telegram. Each chunk
of a split message is well-formed HTML on its own.
"""

from __future__ import annotations

import html

from bot import markup
from bot.messages import Mention

MAX_TEXT = 4096
MAX_POLL_QUESTION = 300
MAX_POLL_OPTION = 100
MAX_BUTTON_TEXT = 64


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _span(span: markup.Span) -> str:
    return f"<b>{_esc(span.text)}</b>" if span.bold and span.text else _esc(span.text)


def _line_pieces(block: markup.Block, limit: int) -> list[str]:
    """The block's HTML, cut into pieces of at most ``limit`` characters each."""
    bold_line = block.kind is markup.BlockKind.HEADING
    prefix = "• " if block.kind is markup.BlockKind.BULLET else ""
    pieces: list[str] = []
    current = prefix
    for span in block.spans:
        bold = span.bold or bold_line
        text = span.text
        while text:
            room = limit - len(current) - (7 if bold else 0)
            if room <= 0:
                pieces.append(current)
                current = ""
                continue
            # Escaping can lengthen text: take as much as fits once escaped.
            take = min(len(text), room)
            while take > 0 and len(_esc(text[:take])) > room:
                take -= 1
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
    """Render neutral markup as Telegram HTML chunks of at most ``limit`` characters."""
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
        extra = len(piece) + 1 + (quote_tags if is_quote and not quote else 0)
        if size + extra > limit:
            flush()
            extra = len(piece) + 1 + (quote_tags if is_quote else 0)
        if is_quote:
            quote.append(piece)
        else:
            close_quote()
            lines.append(piece)
        size += extra
    flush()
    return chunks or [""]


def mention_html(mention: Mention) -> str:
    return f'<a href="tg://user?id={_esc(mention.user_id)}">{_esc(mention.name)}</a>'


def plain(text: str, limit: int) -> str:
    """Plain text (poll questions and options, button labels), cut to ``limit``."""
    out = markup.to_plain(text).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def deep_link(bot_username: str, payload: str = "") -> str:
    """``https://t.me/<bot>`` (with ``?start=<payload>`` when given)."""
    link = f"https://t.me/{bot_username}"
    return f"{link}?start={payload}" if payload else link
