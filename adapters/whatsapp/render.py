"""Neutral outgoing messages → WhatsApp Cloud API message bodies.

WhatsApp formats ``*bold*``, ``_italic_``, ``~strike~`` and ``` ```mono``` ```. Only our
own bold becomes ``*…*``; every literal marker in the text gets a zero-width space on
each side, so nothing a member wrote can turn into formatting for others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import markup
from bot.messages import Choice, OutgoingMessage

TEXT_LIMIT = 4096
BUTTON_BODY_LIMIT = 1024
LIST_BODY_LIMIT = 4096
MAX_BUTTONS = 3
MAX_ROWS = 10
BUTTON_TITLE_LIMIT = 20
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LABEL = "Choose"

ROW_ID_LIMIT = 200
# Rows on the later pages of a long list carry the first page's id in their own, so a
# tap on page 2 names the message Indaba knows, after any restart.
ALIAS_PREFIX = "page:"
ALIAS_SEPARATOR = "|"

_MARKERS = "*_~`"
_ZWSP = "\u200b"


def neutralise(text: str) -> str:
    """Literal ``* _ ~ ``` shown as typed, never as WhatsApp formatting."""
    return "".join(f"{_ZWSP}{ch}{_ZWSP}" if ch in _MARKERS else ch for ch in text)


def _bold(text: str) -> str:
    core = text.strip()
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}*{neutralise(core)}*{trail}"


def render_text(text: str) -> str:
    """Neutral markup → WhatsApp's formatted text."""
    lines: list[str] = []
    for block in markup.parse(text):
        line = "".join(_bold(s.text) if s.bold else neutralise(s.text) for s in block.spans)
        if block.kind is markup.BlockKind.HEADING:
            line = _bold(block.plain) if block.plain.strip() else ""
        elif block.kind is markup.BlockKind.BULLET:
            line = "• " + line
        elif block.kind is markup.BlockKind.QUOTE:
            line = "> " + line
        lines.append(line)
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def number_of(choice: Choice, position: int) -> int:
    """What a member types for ``choice``: its own number, else its position from 1."""
    return choice.number if choice.number is not None else position


def numbered(choices: tuple[Choice, ...]) -> str:
    return "\n".join(
        f"{number_of(c, i)}. {neutralise(c.label)}" for i, c in enumerate(choices, start=1)
    )


def lists_choices(choices: tuple[Choice, ...]) -> bool:
    """Whether the text lists the choices under their numbers already (a ballot)."""
    return all(c.number is not None for c in choices)


@dataclass(frozen=True, slots=True)
class Rendered:
    """The bodies to POST, in order; ``primary`` is the one whose id names the message
    (the first interactive one when there are choices, else the last)."""

    bodies: tuple[dict[str, Any], ...]
    primary: int


def _text_body(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def _buttons(body: str, choices: tuple[Choice, ...]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": c.id, "title": _clip(c.label, BUTTON_TITLE_LIMIT)},
                    }
                    for c in choices
                ]
            },
        },
    }


def _row(choice: Choice) -> dict[str, Any]:
    row: dict[str, Any] = {"id": choice.id, "title": _clip(choice.label, ROW_TITLE_LIMIT)}
    description = choice.description
    if not description and len(choice.label) > ROW_TITLE_LIMIT:
        description = choice.label
    if description:
        row["description"] = _clip(description, ROW_DESCRIPTION_LIMIT)
    return row


def _list(body: str, choices: tuple[Choice, ...]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": LIST_BUTTON_LABEL,
                "sections": [{"rows": [_row(c) for c in choices]}],
            },
        },
    }


def render(message: OutgoingMessage) -> Rendered:
    """Everything but the template (see :func:`template`)."""
    text = render_text(message.text)
    if message.mention is not None:
        text = f"{neutralise(message.mention.name)}: {text}"
    choices = message.choices
    if not choices:
        chunks = markup.split_text(text, TEXT_LIMIT)
        return Rendered(tuple(_text_body(c) for c in chunks), len(chunks) - 1)
    if len(choices) > MAX_ROWS:
        # The outbox already wrote the numbered lines into the text: send it, then the
        # rows in pages of ten, each page saying which numbers it holds.
        bodies = [_text_body(c) for c in markup.split_text(text, TEXT_LIMIT)]
        primary = len(bodies)
        for start in range(0, len(choices), MAX_ROWS):
            page = choices[start : start + MAX_ROWS]
            first, last = number_of(page[0], start + 1), number_of(page[-1], start + len(page))
            label = f"Options {first}–{last} of {len(choices)}"
            bodies.append(_list(label, page))
        return Rendered(tuple(bodies), primary)
    # Numbered lines stay in the body, so a typed number works as well as a tap; a text
    # that lists them already (a ballot's part 2: 11, 12) gets no second list.
    body = text if lists_choices(choices) else f"{text}\n\n{numbered(choices)}"
    limit = BUTTON_BODY_LIMIT if len(choices) <= MAX_BUTTONS else LIST_BODY_LIMIT
    bodies = []
    if len(body) > limit:
        bodies = [_text_body(c) for c in markup.split_text(text, TEXT_LIMIT)]
        body = _clip(numbered(choices), limit)
    build = _buttons if len(choices) <= MAX_BUTTONS else _list
    bodies.append(build(body, choices))
    return Rendered(tuple(bodies), len(bodies) - 1)


def alias(first_page: str, choice_id: str) -> str:
    """A row id on a later page: the first page's message id and the choice id."""
    aliased = f"{ALIAS_PREFIX}{first_page}{ALIAS_SEPARATOR}{choice_id}"
    return aliased if len(aliased) <= ROW_ID_LIMIT else choice_id


def unalias(row_id: str) -> tuple[str | None, str]:
    """(first page's message id, choice id) of a row id; (None, row id) when plain."""
    if row_id.startswith(ALIAS_PREFIX) and ALIAS_SEPARATOR in row_id:
        first, _, choice_id = row_id[len(ALIAS_PREFIX) :].partition(ALIAS_SEPARATOR)
        if first and choice_id:
            return first, choice_id
    return None, row_id


def aliased_page(body: dict[str, Any], first_page: str) -> dict[str, Any]:
    """A later page of a long list, its rows naming ``first_page``."""
    interactive = body["interactive"]
    sections = [
        {
            **section,
            "rows": [{**row, "id": alias(first_page, row["id"])} for row in section["rows"]],
        }
        for section in interactive["action"]["sections"]
    ]
    return {
        **body,
        "interactive": {**interactive, "action": {**interactive["action"], "sections": sections}},
    }


# Documents: the caption's limit, and the MIME types WhatsApp takes as a document
# (up to 100 MB each); any other text file goes as text/plain under its own name.
CAPTION_LIMIT = 1024
DOCUMENT_TYPES = frozenset(
    {
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/ld+json"})


def document_type(media_type: str) -> str | None:
    """The type a file is uploaded under: its own when WhatsApp takes it as a document,
    text/plain for other text (a JSON export, an iCalendar invitation: the member still
    gets the file under its own name), None when WhatsApp takes no such document."""
    base = media_type.split(";", 1)[0].strip().lower()
    if base in DOCUMENT_TYPES:
        return base
    if base.startswith("text/") or base in _TEXT_TYPES:
        return "text/plain"
    return None


def caption_and_rest(message: OutgoingMessage) -> tuple[str, tuple[dict[str, Any], ...]]:
    """A document's caption (the rendered text up to 1,024 characters) and the text
    bodies that follow it with the rest."""
    text = render_text(message.text)
    if message.mention is not None:
        text = f"{neutralise(message.mention.name)}: {text}"
    first, *rest = markup.split_text(text, CAPTION_LIMIT)
    remainder = "\n".join(rest)
    bodies = tuple(_text_body(c) for c in markup.split_text(remainder, TEXT_LIMIT)) if rest else ()
    return first, bodies


def document(media_id: str, filename: str, caption: str) -> dict[str, Any]:
    """A document message naming an uploaded file."""
    body: dict[str, Any] = {"id": media_id, "filename": filename}
    if caption.strip():
        body["caption"] = caption
    return {"type": "document", "document": body}


def template(name: str, language: str) -> dict[str, Any]:
    """The approved template that re-opens the member's 24-hour window."""
    return {"type": "template", "template": {"name": name, "language": {"code": language}}}
