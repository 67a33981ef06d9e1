"""The slash commands the Slack app declares: the same list as every platform's.

``slack-manifest.yaml`` declares exactly these (a test checks it).
"""

from __future__ import annotations

COMMANDS: tuple[str, ...] = (
    "help",
    "join",
    "setup",
    "agenda",
    "wall",
    "practice",
    "harvest",
    "digest",
    "questions",
    "answers",
    "answer",
    "brief",
    "meeting",
    "invite",
    "link",
    "lang",
    "stop",
    "start",
    "anonymous",
)
