"""Every ``/command``; importing this package registers them all."""

from bot.engine.commands import (
    agenda,
    digest,
    harvest,
    help,
    membership,
    onboarding,
    practice,
    questions,
    wall,
    weekly_question,
)
from bot.engine.registry import COMMANDS, Command, command

__all__ = [
    "COMMANDS",
    "Command",
    "agenda",
    "command",
    "digest",
    "harvest",
    "help",
    "membership",
    "onboarding",
    "practice",
    "questions",
    "wall",
    "weekly_question",
]
