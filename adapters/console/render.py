"""How the console shows what the bot sent: who it went to, where, and the text."""

from __future__ import annotations

from bot import markup
from bot.messages import ConversationKind, OutgoingMessage

BOLD, DIM, CYAN, GREEN, YELLOW, RESET = (
    "\033[1m",
    "\033[2m",
    "\033[36m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)


def render_text(text: str, colour: bool) -> str:
    lines = []
    for block in markup.parse(text):
        parts = []
        for span in block.spans:
            parts.append(f"{BOLD}{span.text}{RESET}" if span.bold and colour else span.text)
        line = "".join(parts)
        if block.kind is markup.BlockKind.HEADING:
            line = f"{BOLD}{line}{RESET}" if colour else line.upper()
        elif block.kind is markup.BlockKind.BULLET:
            line = "• " + line
        elif block.kind is markup.BlockKind.QUOTE:
            line = "│ " + line
        lines.append(line)
    return "\n".join(lines)


def destination(message: OutgoingMessage) -> str:
    address = message.address
    if address.kind is ConversationKind.DM:
        return f"DM @{address.conversation_id}"
    if address.ephemeral_to:
        return f"{address.conversation_id} (only @{address.ephemeral_to} sees this)"
    return address.conversation_id


def render_outgoing(message: OutgoingMessage, message_id: str, colour: bool) -> str:
    verb = "edits" if message.edit_of else "→"
    head = f"  bot {verb} {destination(message)}  [{message_id}]"
    if colour:
        tint = CYAN if message.address.kind is ConversationKind.DM else GREEN
        head = f"  {tint}bot {verb} {destination(message)}{RESET}  {DIM}[{message_id}]{RESET}"
    body = render_text(message.text, colour)
    indented = "\n".join("    " + line if line else "" for line in body.split("\n"))
    return f"{head}\n{indented}"


def render_speaker(user: str, where: str, text: str, colour: bool) -> str:
    if colour:
        return f"{YELLOW}{user}{RESET} {DIM}@ {where}{RESET}: {text}"
    return f"{user} @ {where}: {text}"
