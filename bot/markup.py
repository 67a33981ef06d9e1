"""Indaba's neutral markup, and the helpers adapters use to render it.

Message templates write a tiny markup: ``**bold**`` inside a line, and lines that
start with ``# `` (heading), ``- `` (bullet) or ``> `` (quote). Anything a member
wrote is passed through :func:`escape` before it is put into a template, so it can
never become markup in a message sent to others; each adapter then renders the
parsed blocks in its platform's dialect, escaping text for that dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_ESCAPABLE = "\\*#->"


class BlockKind(StrEnum):
    PARAGRAPH = "paragraph"
    HEADING = "heading"
    BULLET = "bullet"
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    spans: tuple[Span, ...]

    @property
    def plain(self) -> str:
        return "".join(span.text for span in self.spans)


def escape(text: str) -> str:
    """Make member text inert: it renders exactly as typed on every platform."""
    out = text.replace("\\", "\\\\").replace("*", "\\*")
    lines = out.split("\n")
    return "\n".join(
        "\\" + line if line.lstrip()[:1] in ("#", "-", ">") and line.lstrip() else line
        for line in lines
    )


def _spans(line: str) -> tuple[Span, ...]:
    spans: list[Span] = []
    buf: list[str] = []
    bold = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in _ESCAPABLE:
            buf.append(line[i + 1])
            i += 2
            continue
        if line.startswith("**", i):
            if buf:
                spans.append(Span("".join(buf), bold))
                buf = []
            bold = not bold
            i += 2
            continue
        buf.append(ch)
        i += 1
    if buf:
        spans.append(Span("".join(buf), bold))
    return tuple(spans)


_PREFIXES = (("# ", BlockKind.HEADING), ("- ", BlockKind.BULLET), ("> ", BlockKind.QUOTE))


def parse(text: str) -> list[Block]:
    """Parse neutral markup into one block per line (blank lines kept as empty paragraphs)."""
    blocks: list[Block] = []
    for line in text.split("\n"):
        kind = BlockKind.PARAGRAPH
        for prefix, prefix_kind in _PREFIXES:
            if line.startswith(prefix):
                kind, line = prefix_kind, line[len(prefix) :]
                break
        blocks.append(Block(kind, _spans(line)))
    return blocks


def to_plain(text: str) -> str:
    """Render to plain text (bullets as •, headings as they are)."""
    lines: list[str] = []
    for block in parse(text):
        plain = block.plain
        if block.kind is BlockKind.BULLET:
            plain = "• " + plain
        elif block.kind is BlockKind.QUOTE:
            plain = "│ " + plain
        lines.append(plain)
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Split rendered text into chunks of at most ``limit`` characters, on line breaks
    where possible, so a long harvest never fails on a platform's length limit."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
