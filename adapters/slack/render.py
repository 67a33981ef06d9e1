"""Neutral messages → Slack mrkdwn and Block Kit, within Block Kit's limits.

Text is escaped for mrkdwn (``&``, ``<``, ``>``) so nothing a member wrote can become
a link, a mention or a broadcast (``<!channel>``) when it is echoed to others. A
message too long for one Slack message is split over several, each within the limits
(50 blocks, 3000 characters per section, 150 per header); the buttons go on the last.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.slack.normalise import (
    AGENDA_FORM,
    ANSWER_FORM,
    ANSWER_LIMIT,
    DETAIL_LIMIT,
    MEETING_FORM,
    TITLE_LIMIT,
)
from bot.markup import Block, BlockKind, parse, split_text
from bot.messages import Choice, OutgoingMessage

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTONS = 25  # elements in one actions block
MAX_FALLBACK_TEXT = 3000
ACTION_PREFIX = "indaba_choice"
MAX_VIEW_BLOCKS = 100  # a modal or the Home tab
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24  # a modal's submit and close words
MAX_PLACEHOLDER = 150

Blocks = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One ``chat.postMessage`` worth: blocks and the notification text."""

    text: str
    blocks: Blocks = field(default_factory=list)


def escape(text: str) -> str:
    """Escape the three characters mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(block: Block) -> str:
    out = []
    for span in block.spans:
        text = escape(span.text)
        # A bold span of only spaces would render the asterisks themselves.
        out.append(f"*{text}*" if span.bold and text.strip() else text)
    return "".join(out)


def mrkdwn_line(block: Block) -> str:
    line = _inline(block)
    if block.kind is BlockKind.HEADING:
        return f"*{escape(block.plain)}*" if block.plain.strip() else ""
    if block.kind is BlockKind.BULLET:
        return "• " + line
    if block.kind is BlockKind.QUOTE:
        return "> " + line
    return line


def to_mrkdwn(text: str) -> str:
    """The whole text as mrkdwn (for ephemeral messages and notification text)."""
    return "\n".join(mrkdwn_line(block) for block in parse(text))


def _sections(lines: list[str]) -> Blocks:
    """Section blocks of at most 3000 characters, split on line breaks."""
    sections = split_text("\n".join(lines), MAX_SECTION_TEXT)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        for text in sections
        if text.strip()
    ]


def _header(text: str) -> dict[str, Any]:
    if len(text) > MAX_HEADER_TEXT:
        text = text[: MAX_HEADER_TEXT - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def content_blocks(text: str, mention: str | None = None) -> Blocks:
    """Headings become header blocks, the lines between them sections."""
    blocks: Blocks = []
    pending: list[str] = [mention] if mention else []
    for block in parse(text):
        if block.kind is BlockKind.HEADING and block.plain.strip():
            blocks.extend(_sections(pending))
            pending = []
            blocks.append(_header(block.plain))
        else:
            pending.append(mrkdwn_line(block))
    blocks.extend(_sections(pending))
    return blocks


def _button_text(label: str) -> str:
    return label if len(label) <= MAX_BUTTON_TEXT else label[: MAX_BUTTON_TEXT - 1] + "…"


def actions_block(choices: tuple[Choice, ...]) -> Blocks:
    """One button per choice, the choice id as the button's value."""
    rows: Blocks = []
    for start in range(0, len(choices), MAX_BUTTONS):
        elements = [
            {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}:{start + index}",
                "text": {"type": "plain_text", "text": _button_text(choice.label), "emoji": True},
                "value": choice.id[:MAX_BUTTON_VALUE],
            }
            for index, choice in enumerate(choices[start : start + MAX_BUTTONS])
        ]
        rows.append(
            {"type": "actions", "block_id": f"indaba_choices_{start}", "elements": elements}
        )
    return rows


def descriptions_block(choices: tuple[Choice, ...]) -> Blocks:
    lines = [
        f"*{escape(choice.label)}*: {escape(choice.description)}"
        for choice in choices
        if choice.description
    ]
    if not lines:
        return []
    text = "\n".join(lines)[:MAX_SECTION_TEXT]
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def _fallback(blocks: Blocks) -> str:
    """Notification text for a chunk: its visible text, shortened."""
    parts: list[str] = []
    for block in blocks:
        text = block.get("text", {}).get("text")
        if text:
            parts.append(str(text))
    joined = "\n".join(parts) or " "
    return joined if len(joined) <= MAX_FALLBACK_TEXT else joined[: MAX_FALLBACK_TEXT - 1] + "…"


def render(message: OutgoingMessage) -> list[SlackMessage]:
    """The Slack messages to post for ``message``, in order; buttons on the last one."""
    mention = f"<@{message.mention.user_id}>" if message.mention else None
    blocks = content_blocks(message.text, mention)
    tail = descriptions_block(message.choices) + actions_block(message.choices)
    if not blocks and not tail:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}]
    chunks: list[Blocks] = []
    room = MAX_BLOCKS
    current: Blocks = []
    for block in blocks:
        if len(current) == room:
            chunks.append(current)
            current = []
        current.append(block)
    if len(current) + len(tail) > MAX_BLOCKS:
        chunks.append(current)
        current = []
    current.extend(tail)
    chunks.append(current)
    return [SlackMessage(_fallback(chunk), chunk) for chunk in chunks if chunk]


def render_single(message: OutgoingMessage) -> SlackMessage:
    """One message only (``chat.update`` replaces one message): the end is cut if need be."""
    chunks = render(message)
    if len(chunks) == 1:
        return chunks[0]
    mention = f"<@{message.mention.user_id}>" if message.mention else None
    tail = descriptions_block(message.choices) + actions_block(message.choices)
    head = content_blocks(message.text, mention)[: MAX_BLOCKS - len(tail) - 1]
    head.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "…"}]})
    blocks = head + tail
    return SlackMessage(_fallback(blocks), blocks)


def render_view_blocks(message: OutgoingMessage) -> Blocks:
    """The Home tab's blocks: the whole text and its buttons, within 100 blocks."""
    tail = actions_block(message.choices)
    head = content_blocks(message.text)[: MAX_VIEW_BLOCKS - len(tail)]
    return head + tail


def home_view(message: OutgoingMessage) -> dict[str, Any]:
    return {"type": "home", "blocks": render_view_blocks(message)}


def reply_body(message: OutgoingMessage, *, ephemeral: bool) -> dict[str, Any]:
    """A ``response_url`` post: one message, ephemeral or for the whole channel."""
    rendered = render_single(message)
    return {
        "text": rendered.text,
        "blocks": rendered.blocks,
        "response_type": "ephemeral" if ephemeral else "in_channel",
        "replace_original": False,
    }


# -- slash commands in Slack's form ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandStyle:
    """Shows Indaba's commands as members type them on Slack: ``/agenda add`` is
    ``/indaba agenda add`` (the one command the app declares)."""

    ours: str
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ours: str, names: Iterable[str]) -> CommandStyle:
        return cls(ours, frozenset(names))

    def rewrite(self, text: str) -> str:
        if not self.names:
            return text
        pattern = re.compile(
            r"(?<![\w/<])/(" + "|".join(sorted(map(re.escape, self.names))) + r")\b(?!/|\.\w)"
        )
        return pattern.sub(lambda m: f"/{self.ours} {m.group(1)}", text)


# -- modals -----------------------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "optional": optional,
        "element": element,
    }


Say = Callable[..., str]
"""A text of prompts/ in the member's language: ``say(key, **values)``."""


def _text_input(
    action_id: str, limit: int, hint: str, *, multiline: bool = False
) -> dict[str, Any]:
    return {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": limit,
        "placeholder": _plain(hint[:MAX_PLACEHOLDER]),
    }


def _modal(
    callback_id: str,
    say: Say,
    prefix: str,
    blocks: Blocks,
    metadata: Mapping[str, str],
    **values: str,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(say(f"{prefix}.title", **values)[:MAX_VIEW_TITLE]),
        "submit": _plain(say(f"{prefix}.submit")[:MAX_VIEW_BUTTON]),
        "close": _plain(say("slack.form.cancel")[:MAX_VIEW_BUTTON]),
        "private_metadata": json.dumps(dict(metadata)),
        "blocks": blocks,
    }


def form_view(form: str, metadata: Mapping[str, str], say: Say) -> dict[str, Any]:
    """The modal for ``form`` (a callback id of :mod:`adapters.slack.normalise`), its
    words from prompts/ in the member's language."""
    if form == AGENDA_FORM:
        p = "slack.form.agenda"
        return _modal(
            form,
            say,
            p,
            [
                _input(
                    "title",
                    say(f"{p}.item"),
                    _text_input("title", TITLE_LIMIT, say(f"{p}.item_hint")),
                ),
                _input(
                    "detail",
                    say(f"{p}.detail"),
                    _text_input("detail", DETAIL_LIMIT, say(f"{p}.detail_hint"), multiline=True),
                    optional=True,
                ),
            ],
            metadata,
        )
    if form == MEETING_FORM:
        p = "slack.form.meeting"
        kinds = [
            {"text": _plain(say(f"{p}.kind_meeting")), "value": "meeting"},
            {"text": _plain(say(f"{p}.kind_workshop")), "value": "workshop"},
        ]
        return _modal(
            form,
            say,
            p,
            [
                _input("date", say(f"{p}.date"), {"type": "datepicker", "action_id": "date"}),
                _input("time", say(f"{p}.time"), {"type": "timepicker", "action_id": "time"}),
                _input(
                    "kind",
                    say(f"{p}.kind"),
                    {
                        "type": "radio_buttons",
                        "action_id": "kind",
                        "options": kinds,
                        "initial_option": kinds[0],
                    },
                ),
                _input(
                    "title",
                    say(f"{p}.name"),
                    _text_input("title", TITLE_LIMIT, say(f"{p}.name_hint")),
                ),
            ],
            metadata,
        )
    if form == ANSWER_FORM:
        p = "slack.form.answer"
        return _modal(
            form,
            say,
            p,
            [
                _input(
                    "answer",
                    say(f"{p}.label"),
                    _text_input("answer", ANSWER_LIMIT, say(f"{p}.hint"), multiline=True),
                )
            ],
            metadata,
            number=metadata.get("number", ""),
        )
    raise ValueError(f"no such form: {form}")
