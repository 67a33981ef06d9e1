"""Two latent bugs of the house: keys stable across processes, degraded choices that
keep every field of the message."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from bot.adapter import Capabilities
from bot.messages import (
    Address,
    Choice,
    Conversation,
    ConversationKind,
    Mention,
    MessageEdited,
    OutgoingMessage,
    Sender,
)
from bot.runtime.outbox import degrade_choices

ROOT = Path(__file__).resolve().parent.parent

KEY_SCRIPT = """
from bot.engine.engine import event_key
from bot.messages import Conversation, ConversationKind, MessageEdited, Sender
event = MessageEdited(
    Conversation("telegram", "42", ConversationKind.DM), Sender("telegram", "42", "A"), "m1",
    text="My answer, corrected",
)
print(event_key(event))
"""


def test_an_edit_has_the_same_key_in_every_process() -> None:
    keys = {
        subprocess.run(
            [sys.executable, "-c", KEY_SCRIPT],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1
    (key,) = keys
    assert key.startswith("telegram:MessageEdited:42:m1:")


def test_two_texts_of_an_edit_have_two_keys() -> None:
    from bot.engine.engine import event_key

    conversation = Conversation("slack", "D1", ConversationKind.DM)
    sender = Sender("slack", "U1", "Amina")
    first = event_key(MessageEdited(conversation, sender, "1.2", text="one"))
    second = event_key(MessageEdited(conversation, sender, "1.2", text="two"))
    assert first and second and first != second


def test_degraded_choices_keep_every_other_field() -> None:
    message = OutgoingMessage(
        address=Address("whatsapp", ConversationKind.DM, "27820000001", thread_id="t"),
        text="Pick one",
        choices=tuple(Choice(str(i), f"Option {i}") for i in range(1, 6)),
        multi_select=True,
        poll=True,
        reply_to="r1",
        edit_of="e1",
        close_poll=True,
        reopener=True,
        mention=Mention("U1", "Amina"),
        invite_to_dm=True,
    )
    degraded = degrade_choices(message, Capabilities(buttons=True, max_buttons=3))
    assert degraded.text == "Pick one\n\n" + "\n".join(f"{i}. Option {i}" for i in range(1, 6))
    assert degraded.poll is False
    for name in (f.name for f in fields(OutgoingMessage)):
        if name not in ("text", "poll"):
            assert getattr(degraded, name) == getattr(message, name), name
